using System.Text;
using StreamEnrich.Formats.Avro;
using StreamEnrich.Records;

namespace StreamEnrich.Tests.Formats.Avro;

/// <summary>
/// Decoding Avro into slots must not allocate per message when only scalars and strings are declared (deterministic,
/// so asserted here). How fast it is next to JSON is measured by the benchmark, never by a timed test.
/// </summary>
public sealed class AvroDecodingAllocationTests
{
    private const string Schema = """
        {"type":"record","name":"Event","fields":[
          {"name":"event_id","type":"string"},
          {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
          {"name":"user_id","type":"long"},
          {"name":"session","type":"string"},
          {"name":"url","type":"string"},
          {"name":"referrer","type":["null","string"]},
          {"name":"duration_ms","type":"int"},
          {"name":"score","type":"double"},
          {"name":"country","type":"string"},
          {"name":"device","type":{"type":"record","name":"Device","fields":[{"name":"os","type":"string"},{"name":"mobile","type":"boolean"}]}},
          {"name":"extra","type":{"type":"map","values":"string"}}]}
        """;

    private static byte[] AvroEvent()
    {
        var b = new List<byte>();
        void Long(long v)
        {
            var z = (ulong)((v << 1) ^ (v >> 63));
            while (z >= 0x80) { b.Add((byte)(z | 0x80)); z >>= 7; }
            b.Add((byte)z);
        }
        void Str(string s)
        {
            var u = Encoding.UTF8.GetBytes(s);
            Long(u.Length);
            b.AddRange(u);
        }
        Str("0b7e4c2a-5f7d-4e0c-9a53-3c1b2f9d8e11");
        Long(1732060800123);
        Long(123456789);
        Str("s-88a1f2");
        Str("https://shop.example.com/products/12345?utm_source=newsletter");
        Long(1);
        Str("https://www.google.com/");
        Long(5320);
        b.AddRange(BitConverter.GetBytes(0.875));
        Str("NO");
        Str("android");
        b.Add(1);
        Long(1);
        Str("campaign");
        Str("winter");
        Long(0);
        return [.. b];
    }

    [Fact]
    public void Decode_TypicalEvent_AllocatesNothingPerMessage()
    {
        var layout = new RecordLayout();
        foreach (var p in new[] { "event_id", "ts", "user_id", "session", "url", "referrer", "duration_ms", "score", "country", "device.os", "device.mobile" }) layout.Slot(p);
        layout.Freeze();
        var plan = AvroDecodingPlan.Compile(AvroSchema.Parse(Schema), null, layout);
        var avro = AvroEvent();
        var slots = new Value[layout.Count];
        Assert.Equal(avro.Length, plan.Decode(avro, 0, avro.Length, slots));
        Assert.Equal("android", slots[layout.Slot("device.os")].AsString);
        Assert.Equal(Value.FromTimestampNanos(1732060800123L * 1_000_000), slots[layout.Slot("ts")]);

        const int n = 50_000;
        plan.Decode(avro, 0, avro.Length, slots); // JIT
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < n; i++) plan.Decode(avro, 0, avro.Length, slots);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 4096, $"decoding {n} events allocated {allocated} bytes; scalar and string fields must not allocate");
    }
}
