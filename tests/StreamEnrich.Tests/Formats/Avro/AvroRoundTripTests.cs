using System.Buffers.Binary;
using System.Text;
using StreamEnrich.Formats.Avro;
using StreamEnrich.Records;

namespace StreamEnrich.Tests.Formats.Avro;

/// <summary>
/// Random values of every type, encoded by a minimal encoder written here from the specification (zig-zag varints,
/// little-endian IEEE floats, length-prefixed strings, blocked arrays and maps split at random, sometimes with
/// negative counts and byte sizes), then decoded: the decoded value must equal the value encoded.
/// </summary>
public sealed class AvroRoundTripTests
{
    private const string Schema = """
        {"type":"record","name":"All","fields":[
          {"name":"n","type":"null"},
          {"name":"b","type":"boolean"},
          {"name":"i","type":"int"},
          {"name":"l","type":"long"},
          {"name":"f","type":"float"},
          {"name":"d","type":"double"},
          {"name":"s","type":"string"},
          {"name":"by","type":"bytes"},
          {"name":"fx","type":{"type":"fixed","name":"F3","size":3}},
          {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B","C","D"]}},
          {"name":"arr","type":{"type":"array","items":["null","long","string"]}},
          {"name":"m","type":{"type":"map","values":{"type":"array","items":"int"}}},
          {"name":"rec","type":{"type":"record","name":"Sub","fields":[{"name":"x","type":"double"},{"name":"y","type":["null","Sub"]}]}},
          {"name":"dec","type":{"type":"bytes","logicalType":"decimal","precision":38,"scale":6}},
          {"name":"uid","type":{"type":"string","logicalType":"uuid"}},
          {"name":"day","type":{"type":"int","logicalType":"date"}},
          {"name":"tms","type":{"type":"int","logicalType":"time-millis"}},
          {"name":"tus","type":{"type":"long","logicalType":"time-micros"}},
          {"name":"ts3","type":{"type":"long","logicalType":"timestamp-millis"}},
          {"name":"ts6","type":{"type":"long","logicalType":"local-timestamp-micros"}},
          {"name":"ts9","type":{"type":"long","logicalType":"timestamp-nanos"}},
          {"name":"dur","type":{"type":"fixed","name":"Dur","size":12,"logicalType":"duration"}}]}
        """;

    private sealed class Encoder(Random rng)
    {
        public readonly List<byte> Bytes = [];

        public void Long(long v)
        {
            var z = (ulong)((v << 1) ^ (v >> 63));
            while (z >= 0x80) { Bytes.Add((byte)(z | 0x80)); z >>= 7; }
            Bytes.Add((byte)z);
        }

        public void Raw(ReadOnlySpan<byte> b) => Bytes.AddRange(b.ToArray());

        public void Sized(byte[] b) { Long(b.Length); Raw(b); }

        /// <summary>Writes items in random blocks; some blocks use a negative count followed by their byte size.</summary>
        public void Blocks<T>(IReadOnlyList<T> items, Action<Encoder, T> write)
        {
            var i = 0;
            while (i < items.Count)
            {
                var n = rng.Next(1, items.Count - i + 1);
                var block = new Encoder(rng);
                for (var k = 0; k < n; k++) write(block, items[i + k]);
                if (rng.Next(2) == 0) { Long(-n); Long(block.Bytes.Count); }
                else Long(n);
                Bytes.AddRange(block.Bytes);
                i += n;
            }
            Long(0);
        }
    }

    private static string RandomString(Random rng)
    {
        string[] pieces = ["a", "é", "日本", "😀", " ", "\n", "z", "\u0000"];
        var sb = new StringBuilder();
        for (var n = rng.Next(0, 6); n > 0; n--) sb.Append(pieces[rng.Next(pieces.Length)]);
        return sb.ToString();
    }

    private static long RandomLong(Random rng) => rng.Next(5) switch
    {
        0 => rng.NextInt64(-70, 70),
        1 => long.MaxValue - rng.Next(3),
        2 => long.MinValue + rng.Next(3),
        _ => rng.NextInt64(long.MinValue, long.MaxValue),
    };

    private static int RandomInt(Random rng) => rng.Next(4) switch
    {
        0 => rng.Next(-70, 70),
        1 => int.MaxValue - rng.Next(3),
        2 => int.MinValue + rng.Next(3),
        _ => rng.Next(int.MinValue, int.MaxValue),
    };

    private static Value Sub(Encoder e, Random rng, int depth)
    {
        var x = rng.NextDouble() * 1e6 - 5e5;
        e.Raw(BitConverter.GetBytes(x));
        Value y;
        if (depth > 3 || rng.Next(2) == 0) { e.Long(0); y = Value.Null; }
        else { e.Long(1); y = Sub(e, rng, depth + 1); }
        return Value.FromMap([new("x", Value.FromFloat(x)), new("y", y)]);
    }

    private static (byte[] Bytes, Dictionary<string, Value> Expected) RandomDatum(Random rng)
    {
        var e = new Encoder(rng);
        var v = new Dictionary<string, Value> { ["n"] = Value.Null };
        var b = rng.Next(2) == 0; e.Bytes.Add(b ? (byte)1 : (byte)0); v["b"] = Value.FromBool(b);
        var i = RandomInt(rng); e.Long(i); v["i"] = Value.FromInt(i);
        var l = RandomLong(rng); e.Long(l); v["l"] = Value.FromInt(l);
        float[] specials = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, float.Epsilon, float.MaxValue];
        var f = rng.Next(3) == 0 ? specials[rng.Next(specials.Length)] : (float)(rng.NextDouble() * 1000 - 500);
        e.Raw(BitConverter.GetBytes(f)); v["f"] = Value.FromFloat(f);
        double[] dspecials = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0, double.Epsilon, double.MaxValue, double.MinValue];
        var d = rng.Next(3) == 0 ? dspecials[rng.Next(dspecials.Length)] : rng.NextDouble() * 1e9 - 5e8;
        e.Raw(BitConverter.GetBytes(d)); v["d"] = Value.FromFloat(d);
        var s = RandomString(rng); e.Sized(Encoding.UTF8.GetBytes(s)); v["s"] = Value.FromString(s);
        var by = new byte[rng.Next(0, 5)]; rng.NextBytes(by); e.Sized(by); v["by"] = Value.FromBytes(by);
        var fx = new byte[3]; rng.NextBytes(fx); e.Raw(fx); v["fx"] = Value.FromBytes(fx);
        var sym = rng.Next(4); e.Long(sym); v["e"] = Value.FromString(((char)('A' + sym)).ToString());

        var arr = Enumerable.Range(0, rng.Next(0, 8)).Select(_ => rng.Next(3) switch
        {
            0 => (0, Value.Null),
            1 => (1, Value.FromInt(RandomLong(rng))),
            _ => (2, Value.FromString(RandomString(rng))),
        }).ToList();
        e.Blocks(arr, (enc, item) =>
        {
            enc.Long(item.Item1);
            if (item.Item1 == 1) enc.Long(item.Item2.AsInt);
            else if (item.Item1 == 2) enc.Sized(Encoding.UTF8.GetBytes(item.Item2.AsString));
        });
        v["arr"] = Value.FromArray([.. arr.Select(a => a.Item2)]);

        var map = Enumerable.Range(0, rng.Next(0, 5)).Select(k => new KeyValuePair<string, int[]>("k" + k + RandomString(rng),
            [.. Enumerable.Range(0, rng.Next(0, 4)).Select(_ => RandomInt(rng))])).ToList();
        e.Blocks(map, (enc, kv) =>
        {
            enc.Sized(Encoding.UTF8.GetBytes(kv.Key));
            enc.Blocks(kv.Value, (inner, x) => inner.Long(x));
        });
        v["m"] = Value.FromMap([.. map.Select(kv => new KeyValuePair<string, Value>(kv.Key, Value.FromArray([.. kv.Value.Select(x => Value.FromInt(x))])))]);

        v["rec"] = Sub(e, rng, 0);

        var unscaled = (Int128)RandomLong(rng) * rng.NextInt64(1, long.MaxValue);
        var decBytes = new byte[16];
        BinaryPrimitives.WriteInt128BigEndian(decBytes, unscaled);
        var trim = 0; // minimal two's-complement length, as writers produce
        while (trim < 15 && ((decBytes[trim] == 0 && decBytes[trim + 1] < 0x80) || (decBytes[trim] == 0xFF && decBytes[trim + 1] >= 0x80))) trim++;
        e.Sized(decBytes[trim..]); v["dec"] = Value.FromDecimal(new DecimalValue(unscaled, 6));

        var g = Guid.NewGuid();
        e.Sized(Encoding.UTF8.GetBytes(g.ToString("D"))); v["uid"] = Value.FromGuid(g);
        var day = rng.Next(-719_162, 2_932_896); /* years 1..9999 */ e.Long(day); v["day"] = Value.FromDate(day);
        var tms = rng.Next(0, 86_400_000); e.Long(tms); v["tms"] = Value.FromInt(tms);
        var tus = rng.NextInt64(0, 86_400_000_000); e.Long(tus); v["tus"] = Value.FromInt(tus);
        var ts3 = rng.NextInt64(-9_223_372_036_854, 9_223_372_036_854); e.Long(ts3); v["ts3"] = Value.FromTimestampNanos(ts3 * 1_000_000);
        var ts6 = rng.NextInt64(-9_223_372_036_854_775, 9_223_372_036_854_775); e.Long(ts6); v["ts6"] = Value.FromTimestampNanos(ts6 * 1_000);
        var ts9 = RandomLong(rng); e.Long(ts9); v["ts9"] = Value.FromTimestampNanos(ts9);
        var dur = new byte[12]; rng.NextBytes(dur); e.Raw(dur);
        v["dur"] = Value.FromMap([
            new("months", Value.FromInt(BinaryPrimitives.ReadUInt32LittleEndian(dur))),
            new("days", Value.FromInt(BinaryPrimitives.ReadUInt32LittleEndian(dur.AsSpan(4)))),
            new("millis", Value.FromInt(BinaryPrimitives.ReadUInt32LittleEndian(dur.AsSpan(8)))),
        ]);
        return ([.. e.Bytes], v);
    }

    [Fact]
    public void Decode_RandomValuesOfEveryType_EqualWhatWasEncoded()
    {
        var schema = AvroSchema.Parse(Schema);
        var fields = ((RecordSchema)schema).Fields.Select(f => f.Name).ToArray();
        var layout = new RecordLayout();
        foreach (var f in fields) layout.Slot(f);
        layout.Slot("rec.y.x"); // nested path through a recursive, nullable record
        layout.Freeze();
        var plan = AvroDecodingPlan.Compile(schema, null, layout);
        var values = AvroValueReader.Compile(schema);
        var rng = new Random(7);

        for (var round = 0; round < 2000; round++)
        {
            var (bytes, expected) = RandomDatum(rng);
            var slots = new Value[layout.Count];
            try
            {
                Assert.Equal(bytes.Length, plan.Decode(bytes, 0, bytes.Length, slots));
            }
            catch (AvroException e)
            {
                Assert.Fail($"round {round}: {e.Message} in {Convert.ToHexString(bytes)}");
            }
            foreach (var f in fields)
                if (!expected[f].Equals(slots[layout.Slot(f)])) Assert.Fail($"round {round}, field {f}: expected {expected[f]}, decoded {slots[layout.Slot(f)]}");
            var y = expected["rec"].AsMap[1].Value;
            var expectedYx = y.Kind == ValueKind.Null ? Value.Null : y.AsMap[0].Value;
            Assert.Equal(expectedYx, slots[layout.Slot("rec.y.x")]);

            var whole = values.ReadAll(bytes);
            Assert.Equal(fields.Length, whole.AsMap.Length);
            for (var k = 0; k < fields.Length; k++)
                if (!expected[fields[k]].Equals(whole.AsMap[k].Value)) Assert.Fail($"round {round}, whole value, field {fields[k]}");
        }
    }
}
