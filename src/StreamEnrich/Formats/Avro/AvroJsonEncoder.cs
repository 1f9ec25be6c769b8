using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text.Json;
using StreamEnrich.Records;

namespace StreamEnrich.Formats.Avro;

/// <summary>
/// Encodes a JSON value as an Avro binary datum of a schema, following the specification's JSON encoding
/// (what pipeline <c>tests:</c> of a <c>format: avro</c> pipeline write as inputs):
/// <list type="bullet">
/// <item>a union value is <c>null</c> or <c>{"&lt;branch type name&gt;": value}</c> (named types by full or short name);
/// when the union has one non-null branch (<c>["null", T]</c>), a bare T value is accepted too;</item>
/// <item>bytes and fixed are strings whose code points 0-255 are the bytes;</item>
/// <item>float and double accept <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c>;</item>
/// <item>a record field left out takes its default (a field without default is an error); unknown fields are errors.</item>
/// </list>
/// Logical types take their underlying JSON form and, for convenience, a readable one: <c>timestamp-*</c> and
/// <c>local-timestamp-*</c> an ISO-8601 string (<c>2026-11-20T10:15:30.123Z</c>), <c>date</c> <c>"2026-11-20"</c>,
/// <c>time-*</c> <c>"10:15:30.123"</c>, <c>decimal</c> a number or numeral string (<c>19.99</c>, <c>"19.99"</c>),
/// <c>uuid</c> the 8-4-4-4-12 string (also on fixed 16). Errors are <see cref="AvroException"/>s naming the field
/// path (<c>customer.tags[2]</c>), the expected type and the value given.
/// </summary>
internal static class AvroJsonEncoder
{
    private const int MaxDepth = 128;

    /// <summary>The datum of <paramref name="json"/> written with <paramref name="schema"/> into <paramref name="writer"/>.</summary>
    public static void Write(AvroSchema schema, JsonElement json, AvroBinaryWriter writer) => Write(schema, json, writer, "", 0, isDefault: false);

    /// <summary>The Confluent wire-format message (magic byte, <paramref name="schemaId"/>, datum) of <paramref name="json"/>.</summary>
    public static byte[] ToConfluentMessage(AvroSchema schema, int schemaId, JsonElement json)
    {
        var w = new AvroBinaryWriter();
        w.WriteConfluentHeader(schemaId);
        Write(schema, json, w);
        return w.ToArray();
    }

    private static void Write(AvroSchema s, JsonElement j, AvroBinaryWriter w, string path, int depth, bool isDefault)
    {
        if (depth > MaxDepth) throw Error(path, s, j, $"nested deeper than {MaxDepth} levels");
        switch (s.Type)
        {
            case AvroType.Null:
                if (j.ValueKind != JsonValueKind.Null) throw Error(path, s, j);
                return;
            case AvroType.Boolean:
                if (j.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw Error(path, s, j);
                w.WriteBoolean(j.GetBoolean());
                return;
            case AvroType.Int:
            case AvroType.Long:
            {
                var v = IntegerOf(s, j, path);
                if (s.Type == AvroType.Int && v is < int.MinValue or > int.MaxValue) throw Error(path, s, j, "out of the 32-bit range");
                w.WriteLong(v);
                return;
            }
            case AvroType.Float:
            case AvroType.Double:
            {
                double d;
                if (j.ValueKind == JsonValueKind.Number) d = j.GetDouble();
                else if (j.ValueKind == JsonValueKind.String && j.GetString() is "NaN" or "Infinity" or "-Infinity")
                    d = j.GetString() switch { "NaN" => double.NaN, "Infinity" => double.PositiveInfinity, _ => double.NegativeInfinity };
                else throw Error(path, s, j);
                // NaN as Java writes it (0x7FC00000 / 0x7FF8...), not .NET's negative NaN: the same bytes as other writers.
                if (s.Type == AvroType.Float) w.WriteFloat(double.IsNaN(d) ? BitConverter.Int32BitsToSingle(0x7FC00000) : (float)d);
                else w.WriteDouble(double.IsNaN(d) ? BitConverter.Int64BitsToDouble(0x7FF8000000000000) : d);
                return;
            }
            case AvroType.String:
            {
                if (j.ValueKind != JsonValueKind.String) throw Error(path, s, j);
                var text = j.GetString()!;
                if (s.LogicalType == AvroLogicalType.Uuid && !Guid.TryParseExact(text, "D", out _))
                    throw Error(path, s, j, "not a uuid in the 8-4-4-4-12 form");
                w.WriteString(text);
                return;
            }
            case AvroType.Bytes:
            {
                var bytes = BytesOf(s, j, path, size: null);
                w.WriteBytes(bytes);
                return;
            }
            case AvroType.Fixed:
            {
                var fx = (FixedSchema)s;
                var bytes = BytesOf(s, j, path, fx.Size);
                if (bytes.Length != fx.Size) throw Error(path, s, j, $"{bytes.Length} byte(s), the fixed size is {fx.Size}");
                w.WriteFixed(bytes);
                return;
            }
            case AvroType.Enum:
            {
                var e = (EnumSchema)s;
                var index = j.ValueKind == JsonValueKind.String ? e.IndexOf(j.GetString()!) : -1;
                if (index < 0) throw Error(path, s, j, $"not one of the symbols {string.Join(", ", e.Symbols)}");
                w.WriteLong(index);
                return;
            }
            case AvroType.Array:
            {
                if (j.ValueKind != JsonValueKind.Array) throw Error(path, s, j);
                var items = ((ArraySchema)s).Items;
                var n = j.GetArrayLength();
                if (n > 0)
                {
                    w.WriteBlockStart(n);
                    var i = 0;
                    foreach (var item in j.EnumerateArray()) Write(items, item, w, $"{path}[{i++}]", depth + 1, isDefault);
                }
                w.WriteBlockEnd();
                return;
            }
            case AvroType.Map:
            {
                if (j.ValueKind != JsonValueKind.Object) throw Error(path, s, j);
                var values = ((MapSchema)s).Values;
                var n = j.EnumerateObject().Count();
                if (n > 0)
                {
                    w.WriteBlockStart(n);
                    foreach (var p in j.EnumerateObject())
                    {
                        w.WriteString(p.Name);
                        Write(values, p.Value, w, Join(path, p.Name), depth + 1, isDefault);
                    }
                }
                w.WriteBlockEnd();
                return;
            }
            case AvroType.Record:
            {
                if (j.ValueKind != JsonValueKind.Object) throw Error(path, s, j);
                var r = (RecordSchema)s;
                foreach (var p in j.EnumerateObject())
                    if (r.Field(p.Name) is null)
                        throw new AvroException($"field '{Join(path, p.Name)}': not in {AvroSchemaParser.Describe(s)} (its fields: {string.Join(", ", r.Fields.Select(f => f.Name))}).");
                foreach (var f in r.Fields)
                {
                    var fieldPath = Join(path, f.Name);
                    if (j.TryGetProperty(f.Name, out var value)) Write(f.Schema, value, w, fieldPath, depth + 1, isDefault);
                    else if (f.Default is { } d) Write(f.Schema, d, w, fieldPath, depth + 1, isDefault: true);
                    else throw new AvroException($"field '{fieldPath}': missing; expected {Expected(f.Schema)} (the field has no default).");
                }
                return;
            }
            case AvroType.Union:
                WriteUnion((UnionSchema)s, j, w, path, depth, isDefault);
                return;
            default:
                throw Error(path, s, j);
        }
    }

    private static void WriteUnion(UnionSchema u, JsonElement j, AvroBinaryWriter w, string path, int depth, bool isDefault)
    {
        var branches = u.Branches;
        if (j.ValueKind == JsonValueKind.Null && u.NullIndex >= 0)
        {
            w.WriteUnionIndex(u.NullIndex);
            return;
        }
        // A schema default is the bare value of a branch (the first one, per the specification; any that fits here).
        if (isDefault)
        {
            for (var i = 0; i < branches.Count; i++)
            {
                if (!AvroDefaults.IsValid(branches[i], j)) continue;
                w.WriteUnionIndex(i);
                Write(branches[i], j, w, path, depth + 1, isDefault);
                return;
            }
            throw Error(path, u, j);
        }
        if (j.ValueKind == JsonValueKind.Object)
        {
            var list = j.EnumerateObject().ToList();
            if (list.Count == 1)
            {
                for (var i = 0; i < branches.Count; i++)
                {
                    if (!IsBranchName(branches[i], list[0].Name)) continue;
                    w.WriteUnionIndex(i);
                    Write(branches[i], list[0].Value, w, path, depth + 1, isDefault);
                    return;
                }
            }
        }
        var nonNull = -1;
        for (var i = 0; i < branches.Count; i++)
        {
            if (branches[i].Type == AvroType.Null) continue;
            if (nonNull >= 0) { nonNull = -2; break; }
            nonNull = i;
        }
        if (nonNull >= 0)
        {
            w.WriteUnionIndex(nonNull);
            Write(branches[nonNull], j, w, path, depth + 1, isDefault);
            return;
        }
        throw new AvroException($"field '{Display(path)}': expected a {AvroSchemaParser.Describe(u)} value in Avro's JSON encoding, " +
            $"null or {{\"<branch>\": value}} with <branch> one of {string.Join(", ", branches.Where(b => b.Type != AvroType.Null).Select(BranchName))}; got {Describe(j)}.");
    }

    private static bool IsBranchName(AvroSchema b, string name) => b switch
    {
        NamedSchema n => n.FullName == name || n.Name == name,
        _ => BranchName(b) == name,
    };

    private static string BranchName(AvroSchema b) => b switch
    {
        NamedSchema n => n.FullName,
        PrimitiveSchema p => p.Name,
        _ => b.Type.ToString().ToLowerInvariant(),
    };

    private static long IntegerOf(AvroSchema s, JsonElement j, string path)
    {
        if (j.ValueKind == JsonValueKind.Number)
        {
            if (j.TryGetInt64(out var v)) return v;
            throw Error(path, s, j, "not an integer in the 64-bit range");
        }
        if (j.ValueKind != JsonValueKind.String || s.LogicalType == AvroLogicalType.None) throw Error(path, s, j);
        var text = j.GetString()!;
        switch (s.LogicalType)
        {
            case AvroLogicalType.Date:
                if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                    return date.DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber;
                break;
            case AvroLogicalType.TimeMillis or AvroLogicalType.TimeMicros:
                if (TimeOnly.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
                    return s.LogicalType == AvroLogicalType.TimeMillis ? time.Ticks / TimeSpan.TicksPerMillisecond : time.Ticks / (TimeSpan.TicksPerMillisecond / 1000);
                break;
            case AvroLogicalType.TimestampMillis or AvroLogicalType.TimestampMicros or AvroLogicalType.TimestampNanos
                or AvroLogicalType.LocalTimestampMillis or AvroLogicalType.LocalTimestampMicros or AvroLogicalType.LocalTimestampNanos:
            {
                var local = s.LogicalType is AvroLogicalType.LocalTimestampMillis or AvroLogicalType.LocalTimestampMicros or AvroLogicalType.LocalTimestampNanos;
                var styles = local ? DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal : DateTimeStyles.AdjustToUniversal;
                if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, styles, out var ts)) break;
                // An instant needs its offset: without one the text would mean whatever this machine's zone is.
                if (!local && !HasOffset(text)) throw Error(path, s, j, "an ISO-8601 timestamp needs its offset (Z or +hh:mm)");
                var ticks = (ts.UtcTicks - DateTime.UnixEpoch.Ticks);
                return s.LogicalType switch
                {
                    AvroLogicalType.TimestampMillis or AvroLogicalType.LocalTimestampMillis => ticks / TimeSpan.TicksPerMillisecond,
                    AvroLogicalType.TimestampMicros or AvroLogicalType.LocalTimestampMicros => ticks / (TimeSpan.TicksPerMillisecond / 1000),
                    _ => checked(ticks * 100),
                };
            }
        }
        throw Error(path, s, j);
    }

    private static bool HasOffset(string text)
    {
        var t = text.AsSpan().Trim();
        if (t.EndsWith("Z") || t.EndsWith("z")) return true;
        var tIndex = t.IndexOfAny('T', ' ');
        if (tIndex < 0) return false;
        var timePart = t[tIndex..];
        return timePart.LastIndexOfAny('+', '-') > 0;
    }

    private static byte[] BytesOf(AvroSchema s, JsonElement j, string path, int? size)
    {
        if (s.LogicalType == AvroLogicalType.Decimal && (j.ValueKind == JsonValueKind.Number || (j.ValueKind == JsonValueKind.String && IsNumeral(j.GetString()!))))
            return DecimalBytes(s, j, path, size);
        if (j.ValueKind != JsonValueKind.String) throw Error(path, s, j);
        var text = j.GetString()!;
        if (s.LogicalType == AvroLogicalType.Uuid && size == 16)
        {
            if (!Guid.TryParseExact(text, "D", out var g)) throw Error(path, s, j, "not a uuid in the 8-4-4-4-12 form");
            var b = new byte[16];
            g.TryWriteBytes(b, bigEndian: true, out _);
            return b;
        }
        var bytes = new byte[text.Length];
        for (var k = 0; k < text.Length; k++)
        {
            if (text[k] > 0xFF) throw Error(path, s, j, $"character {k} is U+{(int)text[k]:X4}; bytes are written as a string of code points 0-255");
            bytes[k] = (byte)text[k];
        }
        return bytes;
    }

    private static bool IsNumeral(string s) => DecimalValue.TryParse(s, out _);

    private static byte[] DecimalBytes(AvroSchema s, JsonElement j, string path, int? size)
    {
        var text = j.ValueKind == JsonValueKind.String ? j.GetString()! : j.GetRawText();
        if (!DecimalValue.TryParse(text, out var d)) throw Error(path, s, j, "not a decimal number");
        if (!d.TryRescale(s.Scale, out var exact)) throw Error(path, s, j, $"more than {s.Scale} decimal place(s)");
        var unscaled = (BigInteger)exact;
        if (BigInteger.Abs(unscaled) >= BigInteger.Pow(10, s.Precision)) throw Error(path, s, j, $"more than {s.Precision} digit(s)");
        var bytes = unscaled.ToByteArray(isUnsigned: false, isBigEndian: true);
        if (size is not { } n) return bytes;
        if (bytes.Length > n) throw Error(path, s, j, $"does not fit {n} byte(s)");
        var padded = new byte[n];
        if (unscaled.Sign < 0) padded.AsSpan().Fill(0xFF);
        bytes.CopyTo(padded, n - bytes.Length);
        return padded;
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;

    private static string Display(string path) => path.Length == 0 ? "(the whole value)" : path;

    private static string Expected(AvroSchema s) => s.LogicalTypeName is { } lt && s.LogicalType != AvroLogicalType.None
        ? $"{AvroSchemaParser.Describe(s)} ({lt}{Hint(s)})"
        : AvroSchemaParser.Describe(s);

    private static string Hint(AvroSchema s) => s.LogicalType switch
    {
        AvroLogicalType.TimestampMillis or AvroLogicalType.TimestampMicros or AvroLogicalType.TimestampNanos =>
            ": a number, or an ISO-8601 string like \"2026-11-20T10:15:30.123Z\"",
        AvroLogicalType.LocalTimestampMillis or AvroLogicalType.LocalTimestampMicros or AvroLogicalType.LocalTimestampNanos =>
            ": a number, or an ISO-8601 string like \"2026-11-20T10:15:30.123\"",
        AvroLogicalType.Date => ": days since 1970-01-01, or a string like \"2026-11-20\"",
        AvroLogicalType.TimeMillis or AvroLogicalType.TimeMicros => ": a number, or a string like \"10:15:30.123\"",
        AvroLogicalType.Decimal => $"({s.Precision}, {s.Scale}): a number or a numeral string like \"19.99\"",
        AvroLogicalType.Uuid => ": a string like \"3f0c6a52-8a1e-4c55-9d1b-2f7e7c1d9a10\"",
        _ => "",
    };

    private static AvroException Error(string path, AvroSchema s, JsonElement j, string? why = null) =>
        new($"field '{Display(path)}': expected {Expected(s)}, got {Describe(j)}{(why is null ? "" : $" ({why})")}.");

    private static string Describe(JsonElement e)
    {
        var raw = e.GetRawText();
        if (raw.Length > 60) raw = raw[..57] + "...";
        return e.ValueKind switch
        {
            JsonValueKind.Number => "the number " + raw,
            JsonValueKind.String => "the string " + raw,
            JsonValueKind.True or JsonValueKind.False => raw,
            JsonValueKind.Null => "null",
            JsonValueKind.Array => "an array " + raw,
            _ => "an object " + raw,
        };
    }
}
