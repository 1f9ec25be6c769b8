using System.Diagnostics;
using System.Text;
using System.Text.Json;
using StreamEnrich.Formats.Avro;
using StreamEnrich.Records;

namespace StreamEnrich.Tests.Formats.Avro;

/// <summary>
/// Decoding Avro into slots must cost less than merely tokenizing the same event as JSON (a lower bound for any
/// JSON decoder), and must not allocate per message when only scalars and strings are declared.
/// </summary>
public sealed class AvroDecodingPerformanceTests
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

    private static readonly byte[] JsonEvent = """
        {"event_id":"0b7e4c2a-5f7d-4e0c-9a53-3c1b2f9d8e11","ts":1732060800123,"user_id":123456789,"session":"s-88a1f2","url":"https://shop.example.com/products/12345?utm_source=newsletter","referrer":"https://www.google.com/","duration_ms":5320,"score":0.875,"country":"NO","device":{"os":"android","mobile":true},"extra":{"campaign":"winter"}}
        """u8.ToArray();

    private static int TokenizeJson(byte[] json)
    {
        var reader = new Utf8JsonReader(json);
        var n = 0;
        while (reader.Read())
            if (reader.TokenType is JsonTokenType.String) n += reader.ValueSpan.Length; // touch values as a decoder would
            else if (reader.TokenType is JsonTokenType.Number && reader.TryGetInt64(out var l)) n += (int)l;
        return n;
    }

    [Fact]
    public void Decode_TypicalEvent_FasterThanJsonTokenizingAndNoAllocation()
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
        long bestAvro = long.MaxValue, bestJson = long.MaxValue, allocated = 0;
        var sink = 0;
        for (var round = 0; round < 5; round++)
        {
            var sw = Stopwatch.StartNew();
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < n; i++) plan.Decode(avro, 0, avro.Length, slots);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            bestAvro = Math.Min(bestAvro, sw.ElapsedTicks);
            sw.Restart();
            for (var i = 0; i < n; i++) sink += TokenizeJson(JsonEvent);
            bestJson = Math.Min(bestJson, sw.ElapsedTicks);
        }
        Assert.NotEqual(0, sink);
        Assert.True(allocated < 4096, $"decoding {n} events allocated {allocated} bytes; scalar and string fields must not allocate");
        Assert.True(bestAvro < bestJson,
            $"Avro decode {bestAvro * 1e9 / Stopwatch.Frequency / n:F0} ns/event must beat JSON tokenizing {bestJson * 1e9 / Stopwatch.Frequency / n:F0} ns/event");
    }
}
