# Regenerates the fixtures in this folder with python3-avro (Debian package python3-avro 1.11.1):
#   /usr/bin/python3 generate_fixtures.py
# Container files get a random sync marker, so regenerating changes the .avro bytes (not the expected .json files).
# alltypes.avsc / alltypes-deflate.avro: every Avro type and logical type, written by the reference implementation,
# several small blocks (sync interval forced low) so the block loop is exercised.
# alltypes-expected.json: what python3-avro reads back, one JSON object per line (bytes as hex, decimals as strings,
# timestamps as epoch units, uuids as strings).
import json, datetime, decimal, uuid
import avro.schema, avro.datafile, avro.io

schema_json = {
  "type": "record", "name": "AllTypes", "namespace": "fixtures",
  "fields": [
    {"name": "n", "type": "null"},
    {"name": "b", "type": "boolean"},
    {"name": "i", "type": "int"},
    {"name": "l", "type": "long"},
    {"name": "f", "type": "float"},
    {"name": "d", "type": "double"},
    {"name": "s", "type": "string"},
    {"name": "by", "type": "bytes"},
    {"name": "fx", "type": {"type": "fixed", "name": "Four", "size": 4}},
    {"name": "e", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN", "BLUE"]}},
    {"name": "arr", "type": {"type": "array", "items": "long"}},
    {"name": "m", "type": {"type": "map", "values": "string"}},
    {"name": "u", "type": ["null", "string", "long"]},
    {"name": "nested", "type": {"type": "record", "name": "Inner", "fields": [
        {"name": "x", "type": "int"},
        {"name": "deeper", "type": {"type": "record", "name": "Deeper", "fields": [{"name": "y", "type": "string"}]}}]}},
    {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal", "precision": 20, "scale": 4}},
    {"name": "decfx", "type": {"type": "fixed", "name": "Dec8", "size": 8, "logicalType": "decimal", "precision": 18, "scale": 2}},
    {"name": "uid", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "date", "type": {"type": "int", "logicalType": "date"}},
    {"name": "tms", "type": {"type": "int", "logicalType": "time-millis"}},
    {"name": "tus", "type": {"type": "long", "logicalType": "time-micros"}},
    {"name": "tsms", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "tsus", "type": {"type": "long", "logicalType": "timestamp-micros"}}
  ]
}
schema = avro.schema.parse(json.dumps(schema_json))
open("alltypes.avsc", "w").write(json.dumps(schema_json, indent=1))

utc = datetime.timezone.utc
rows = []
for k in range(7):
    rows.append({
        "n": None, "b": k % 2 == 0, "i": [0, 1, -1, 63, -64, 2147483647, -2147483648][k],
        "l": [0, 64, -65, 9223372036854775807, -9223372036854775808, 1234567890123, -1][k],
        "f": [0.0, 1.5, -2.25, float("inf"), float("-inf"), 3.4028234663852886e38, 1e-45][k],
        "d": [0.0, 1.5, -2.25, float("inf"), float("-inf"), 1.7976931348623157e308, 5e-324][k],
        "s": ["", "a", "héllo wörld", "日本語", "x" * 300, "tab\tnew\nline", "😀"][k],
        "by": [b"", b"\x00", b"\xff\xfe", bytes(range(16)), b"x" * 200, b"\x80", b"abc"][k],
        "fx": [b"\x00\x00\x00\x00", b"\x01\x02\x03\x04", b"\xff\xff\xff\xff", b"abcd", b"\x7f\x00\x00\x01", b"zzzz", b"0000"][k],
        "e": ["RED", "GREEN", "BLUE", "RED", "GREEN", "BLUE", "RED"][k],
        "arr": [[], [1], [1, -1, 300], list(range(100)), [9223372036854775807], [-9223372036854775808], [0, 0]][k],
        "m": [{}, {"a": "1"}, {"k": "v", "empty": ""}, {"ü": "ö"}, {"x": "y" * 50}, {"1": "2"}, {"": ""}][k],
        "u": [None, "str", 42, None, "", -7, 9223372036854775807][k],
        "nested": {"x": k, "deeper": {"y": "deep%d" % k}},
        "dec": [decimal.Decimal("0"), decimal.Decimal("1.2345"), decimal.Decimal("-1.2345"), decimal.Decimal("9999999999999999.9999"),
                decimal.Decimal("-9999999999999999.9999"), decimal.Decimal("0.0001"), decimal.Decimal("-0.0001")][k],
        "decfx": [decimal.Decimal("0.00"), decimal.Decimal("12.34"), decimal.Decimal("-12.34"), decimal.Decimal("9999999999999999.99"),
                  decimal.Decimal("-9999999999999999.99"), decimal.Decimal("0.01"), decimal.Decimal("-0.01")][k],
        "uid": [str(x) for x in [uuid.UUID(int=0), uuid.UUID("12345678-1234-5678-9abc-def012345678"), uuid.UUID("ffffffff-ffff-ffff-ffff-ffffffffffff"),
                uuid.UUID("00000000-0000-0000-0000-000000000001"), uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                uuid.UUID("80000000-0000-0000-0000-000000000000"), uuid.UUID("7fffffff-ffff-ffff-ffff-ffffffffffff")]][k],
        "date": [datetime.date(1970, 1, 1), datetime.date(1969, 12, 31), datetime.date(2024, 2, 29), datetime.date(1, 1, 1),
                 datetime.date(9999, 12, 31), datetime.date(2000, 1, 1), datetime.date(1900, 3, 1)][k],
        "tms": [datetime.time(0, 0), datetime.time(23, 59, 59, 999000), datetime.time(12, 0), datetime.time(0, 0, 0, 1000),
                datetime.time(1, 2, 3), datetime.time(13, 14, 15, 16000), datetime.time(6, 0)][k],
        "tus": [datetime.time(0, 0), datetime.time(23, 59, 59, 999999), datetime.time(12, 0), datetime.time(0, 0, 0, 1),
                datetime.time(1, 2, 3), datetime.time(13, 14, 15, 16), datetime.time(6, 0)][k],
        "tsms": [datetime.datetime(1970, 1, 1, tzinfo=utc), datetime.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=utc),
                 datetime.datetime(2024, 2, 29, 12, 30, 45, 123000, tzinfo=utc), datetime.datetime(1900, 1, 1, tzinfo=utc),
                 datetime.datetime(2262, 4, 11, 23, 47, 16, 854000, tzinfo=utc), datetime.datetime(2000, 1, 1, tzinfo=utc),
                 datetime.datetime(1677, 9, 21, 0, 12, 44, tzinfo=utc)][k],
        "tsus": [datetime.datetime(1970, 1, 1, tzinfo=utc), datetime.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=utc),
                 datetime.datetime(2024, 2, 29, 12, 30, 45, 123456, tzinfo=utc), datetime.datetime(1900, 1, 1, tzinfo=utc),
                 datetime.datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=utc), datetime.datetime(2000, 1, 1, tzinfo=utc),
                 datetime.datetime(1677, 9, 21, 0, 12, 44, 1, tzinfo=utc)][k],
    })

with open("alltypes-deflate.avro", "wb") as fh:
    w = avro.datafile.DataFileWriter(fh, avro.io.DatumWriter(), schema, codec="deflate")
    pass
    for r in rows:
        w.append(r)
        if len(w.buffer_writer.getvalue()) > 200: w.flush()  # several blocks
    w.close()

epoch = datetime.datetime(1970, 1, 1, tzinfo=utc)
def plain(name, v):
    if isinstance(v, (bytes, bytearray)): return v.hex()
    if isinstance(v, decimal.Decimal): return str(v)
    if isinstance(v, uuid.UUID): return str(v)
    if isinstance(v, datetime.datetime):
        delta = v - epoch
        us = (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds
        return us // 1000 if name == "tsms" else us
    if isinstance(v, datetime.date): return (v - datetime.date(1970, 1, 1)).days
    if isinstance(v, datetime.time):
        us = ((v.hour * 60 + v.minute) * 60 + v.second) * 1000000 + v.microsecond
        return us // 1000 if name == "tms" else us
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")): return repr(v)
        return v
    if isinstance(v, dict) and name == "nested": return v
    return v

with open("alltypes-deflate.avro", "rb") as fh, open("alltypes-expected.json", "w") as out:
    for r in avro.datafile.DataFileReader(fh, avro.io.DatumReader()):
        out.write(json.dumps({k: plain(k, v) for k, v in r.items()}, ensure_ascii=False) + "\n")

# resolution-v1.avro: written with resolution-writer.avsc; resolution-expected.json: what python3-avro reads
# through resolution-reader.avsc (promotions, dropped and added fields with defaults, union re-ordering,
# enum symbol mapping), one JSON object per line. (python3-avro 1.11.1 lacks the string<->bytes promotion, which
# is tested by hand in AvroSchemaResolutionTests.) Bytes are written as latin-1 strings.
writer_json = {
  "type": "record", "name": "Evt", "namespace": "res",
  "fields": [
    {"name": "a", "type": "int"},
    {"name": "b", "type": "long"},
    {"name": "c", "type": "float"},
    {"name": "s", "type": "string"},
    {"name": "by", "type": "bytes"},
    {"name": "dropped", "type": {"type": "map", "values": "string"}},
    {"name": "u", "type": ["null", "int", "string"]},
    {"name": "col", "type": {"type": "enum", "name": "Col", "symbols": ["R", "G", "B"]}},
    {"name": "inner", "type": {"type": "record", "name": "In", "fields": [{"name": "x", "type": "int"}]}}]}
reader_json = {
  "type": "record", "name": "Evt", "namespace": "res",
  "fields": [
    {"name": "inner", "type": {"type": "record", "name": "In", "fields": [
        {"name": "x", "type": "double"}, {"name": "y", "type": "string", "default": "why"}]}},
    {"name": "col", "type": {"type": "enum", "name": "Col", "symbols": ["B", "G", "R", "X"]}},
    {"name": "u", "type": ["string", "long", "null"]},
    {"name": "by", "type": "bytes"},
    {"name": "s", "type": "string"},
    {"name": "c", "type": "double"},
    {"name": "b", "type": "double"},
    {"name": "a", "type": "long"},
    {"name": "added", "type": ["null", "int"], "default": None},
    {"name": "added2", "type": {"type": "array", "items": "int"}, "default": [1, 2]}]}
wschema = avro.schema.parse(json.dumps(writer_json))
rschema = avro.schema.parse(json.dumps(reader_json))
open("resolution-writer.avsc", "w").write(json.dumps(writer_json, indent=1))
open("resolution-reader.avsc", "w").write(json.dumps(reader_json, indent=1))
wrows = [
    {"a": 1, "b": 2, "c": 1.5, "s": "x", "by": b"ok", "dropped": {"k": "v"}, "u": None, "col": "R", "inner": {"x": 3}},
    {"a": -2147483648, "b": 9007199254740993, "c": -0.1, "s": "", "by": b"", "dropped": {}, "u": 5, "col": "G", "inner": {"x": -1}},
    {"a": 2147483647, "b": -9223372036854775808, "c": 3.4e38, "s": "ünï", "by": "é".encode(), "dropped": {"a": "b", "c": "d"}, "u": "str", "col": "B", "inner": {"x": 0}},
]
with open("resolution-v1.avro", "wb") as fh:
    w = avro.datafile.DataFileWriter(fh, avro.io.DatumWriter(), wschema)
    for r in wrows:
        w.append(r)
    w.close()
with open("resolution-v1.avro", "rb") as fh, open("resolution-expected.json", "w") as out:
    for r in avro.datafile.DataFileReader(fh, avro.io.DatumReader(readers_schema=rschema)):
        out.write(json.dumps({k: (v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in r.items()}, ensure_ascii=False) + "\n")
