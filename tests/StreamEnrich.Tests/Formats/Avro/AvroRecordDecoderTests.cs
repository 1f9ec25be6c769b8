using System.Buffers.Binary;
using StreamEnrich.Formats.Avro;
using StreamEnrich.Formats.SchemaRegistry;
using StreamEnrich.Records;
using StreamEnrich.Tests.Fixtures;
using StreamEnrich.Tests.Pipeline;
using Record = StreamEnrich.Records.Record;

namespace StreamEnrich.Tests.Formats.Avro;

/// <summary>Confluent wire format (magic 0, big-endian schema id, datum) decoded with schemas from a real HTTP registry.</summary>
public sealed class AvroRecordDecoderTests
{
    private const string UserV1 = """
        {"type":"record","name":"User","namespace":"shop","fields":[
          {"name":"id","type":"long"},
          {"name":"name","type":"string"},
          {"name":"address","type":["null",{"type":"record","name":"Address","fields":[{"name":"city","type":"string"}]}]}]}
        """;

    private static RecordLayout Layout(params string[] paths)
    {
        var layout = new RecordLayout();
        foreach (var p in paths) layout.Slot(p);
        layout.Freeze();
        return layout;
    }

    private static byte[] Message(int id, string datumHex)
    {
        var datum = Convert.FromHexString(datumHex.Replace(" ", "", StringComparison.Ordinal));
        var m = new byte[5 + datum.Length];
        BinaryPrimitives.WriteInt32BigEndian(m.AsSpan(1), id);
        datum.CopyTo(m, 5);
        return m;
    }

    private static Record NewRecord(RecordLayout layout, byte[] payload, byte[]? key = null)
    {
        var r = layout.NewRecord();
        r.Payload = payload;
        r.Key = key;
        return r;
    }

    // id=7, name="ann", address={city:"oslo"}
    private const string AnnDatum = "0E 06616E6E 02 086F736C6F";

    private static SchemaRegistryClient Client(SchemaRegistryServer server) => new(new SchemaRegistryOptions
    {
        Url = server.Url, MaxRetries = 1, RetryBackoff = TimeSpan.FromMilliseconds(10), RetryMaxBackoff = TimeSpan.FromMilliseconds(20),
    });

    [Fact]
    public async Task Decode_ValidMessage_FieldsInSlots()
    {
        await using var server = await SchemaRegistryServer.StartAsync(firstId: 300);
        var id = server.Register("users-value", UserV1);
        using var client = Client(server);
        var layout = Layout("id", "name", "address.city");
        var decoder = new AvroRecordDecoder(layout, client);
        var record = NewRecord(layout, Message(id, AnnDatum));

        await decoder.PrepareAsync([record], default);
        decoder.Decode(record);

        Assert.True(record.IsActive, record.FailureReason);
        Assert.Equal(Value.FromInt(7), record[layout.Slot("id")]);
        Assert.Equal("ann", record[layout.Slot("name")].AsString);
        Assert.Equal("oslo", record[layout.Slot("address.city")].AsString);
    }

    [Theory]
    [InlineData("", "shorter than the 5-byte header")]
    [InlineData("00 0000", "shorter than the 5-byte header")]
    [InlineData("01 0000012C 00", "unknown magic byte 0x01 at byte 0")]
    public async Task Decode_BadHeader_FailsWithReason(string hex, string reason)
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        using var client = Client(server);
        var layout = Layout("id");
        var decoder = new AvroRecordDecoder(layout, client);
        var record = NewRecord(layout, Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal)));

        await decoder.PrepareAsync([record], default);
        decoder.Decode(record);

        Assert.Equal(RecordStatus.Failed, record.Status);
        Assert.Equal("deserialize", record.FailedStage);
        Assert.Contains(reason, record.FailureReason);
    }

    [Fact]
    public async Task Decode_UnknownSchemaId_FailsRecordNotChunk()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        var id = server.Register("users-value", UserV1);
        using var client = Client(server);
        var layout = Layout("id");
        var decoder = new AvroRecordDecoder(layout, client);
        var good = NewRecord(layout, Message(id, AnnDatum));
        var bad = NewRecord(layout, Message(999, AnnDatum));

        await decoder.PrepareAsync([good, bad], default);
        decoder.Decode(good);
        decoder.Decode(bad);

        Assert.True(good.IsActive);
        Assert.Equal(RecordStatus.Failed, bad.Status);
        Assert.Contains("unknown schema id 999", bad.FailureReason);
    }

    [Theory]
    [InlineData("0E 06616E", "at byte 6: string length 3 exceeds the 2 remaining bytes")] // string cut short: its length prefix is at message byte 6 (header 5 + 1)
    [InlineData("0E 06616E6E 04", "union branch index 2 out of range")]
    [InlineData("0E 06616E6E 00 FF", "1 trailing byte(s) after the datum at byte 11")]
    public async Task Decode_BadDatum_FailsWithByteOffset(string datum, string reason)
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        var id = server.Register("users-value", UserV1);
        using var client = Client(server);
        var layout = Layout("id", "name", "address.city");
        var decoder = new AvroRecordDecoder(layout, client);
        var record = NewRecord(layout, Message(id, datum));

        await decoder.PrepareAsync([record], default);
        decoder.Decode(record);

        Assert.Equal(RecordStatus.Failed, record.Status);
        Assert.Contains(reason, record.FailureReason);
    }

    [Fact]
    public async Task PrepareAsync_RegistryDownButIdsCached_PipelineContinues()
    {
        var server = await SchemaRegistryServer.StartAsync();
        var id = server.Register("users-value", UserV1);
        using var client = Client(server);
        var layout = Layout("name");
        var first = new AvroRecordDecoder(layout, client);
        await first.PrepareAsync([NewRecord(layout, Message(id, AnnDatum))], default);
        await server.StopAsync();

        // A new decoder (e.g. after a pipeline restart in-process) still gets the schema from the client's cache.
        var second = new AvroRecordDecoder(layout, client);
        var record = NewRecord(layout, Message(id, AnnDatum));
        await second.PrepareAsync([record], default);
        second.Decode(record);

        Assert.Equal("ann", record[layout.Slot("name")].AsString);
    }

    private static AvroRecordDecoderOptions Outage(int maxRetries) => new()
    {
        OutageMaxRetries = maxRetries, OutageBackoff = TimeSpan.FromMilliseconds(10), OutageMaxBackoff = TimeSpan.FromMilliseconds(40),
        RegistryDescription = "http://registry.test:8081",
    };

    [Fact]
    public async Task PrepareAsync_RegistryDownForUncachedIdOutageRetriesUsedUp_ThrowsNamingTheOption()
    {
        var server = await SchemaRegistryServer.StartAsync();
        var id = server.Register("users-value", UserV1);
        using var client = Client(server);
        await server.StopAsync();
        var layout = Layout("name");
        var logger = new KafkaTestLogger();
        var decoder = new AvroRecordDecoder(layout, client, options: Outage(2), logger: logger);

        var e = await Assert.ThrowsAsync<SchemaRegistryException>(async () => await decoder.PrepareAsync([NewRecord(layout, Message(id, AnnDatum))], default));

        Assert.Equal(SchemaRegistryErrorKind.Unavailable, e.Kind);
        Assert.Contains($"schema id {id}", e.Message);
        Assert.Contains("after 3 attempt(s)", e.Message);
        Assert.Contains("outage_max_retries is 2", e.Message);
        Assert.Equal(2, logger.Count($"Schema id {id} (message values) is not cached and the schema registry http://registry.test:8081 is unavailable"));
    }

    [Fact]
    public async Task PrepareAsync_Registry503ForUncachedId_WaitsWarnsThenDecodes()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        var id = server.Register("users-value", UserV1);
        using var client = Client(server); // max_retries 1: two requests per attempt
        var layout = Layout("name");
        var logger = new KafkaTestLogger();
        var decoder = new AvroRecordDecoder(layout, client, options: Outage(-1), logger: logger);
        server.FailNext(int.MaxValue);
        var record = NewRecord(layout, Message(id, AnnDatum));

        var prepare = decoder.PrepareAsync([record], default).AsTask();
        await PipelineHarness.WaitUntilAsync(() => Task.FromResult((logger.Count("is unavailable") >= 3, logger.ToString())), TimeSpan.FromSeconds(20), "three outage warnings");
        Assert.False(prepare.IsCompleted, "the chunk must be held back while the registry is down, not failed");
        server.FailNext(0);
        await prepare.WaitAsync(TimeSpan.FromSeconds(20));
        decoder.Decode(record);

        Assert.True(record.IsActive, record.FailureReason);
        Assert.Equal("ann", record[layout.Slot("name")].AsString);
        var warning = logger.Lines.First(l => l.Message.Contains("is unavailable", StringComparison.Ordinal));
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, warning.Level);
        Assert.Contains($"Schema id {id}", warning.Message);
        Assert.Contains("HTTP 503", warning.Message);
        Assert.Contains("Holding these messages back", warning.Message);
        Assert.Equal(1, logger.Count($"answered for schema id {id}"));
    }

    [Fact]
    public async Task PrepareAsync_ConcurrentChunksWaitingForSameId_ShareOneWait()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        var id = server.Register("users-value", UserV1);
        using var client = Client(server);
        var layout = Layout("name");
        var logger = new KafkaTestLogger();
        var decoder = new AvroRecordDecoder(layout, client, options: Outage(-1), logger: logger);
        server.FailNext(4); // two attempts of two requests each

        var chunks = Enumerable.Range(0, 4).Select(_ => decoder.PrepareAsync([NewRecord(layout, Message(id, AnnDatum))], default).AsTask()).ToArray();
        await Task.WhenAll(chunks).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(2, logger.Count("is unavailable"));
        Assert.Equal(5, server.Requests.Count);
    }

    [Fact]
    public async Task PrepareAsync_RegistryRefusesCredentials_ThrowsAtOnceNamingTheOptions()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        var id = server.Register("users-value", UserV1);
        server.RequiredAuthorization = "Bearer right";
        using var client = Client(server);
        var layout = Layout("name");
        var decoder = new AvroRecordDecoder(layout, client, options: Outage(-1));

        var e = await Assert.ThrowsAsync<SchemaRegistryException>(async () => await decoder.PrepareAsync([NewRecord(layout, Message(id, AnnDatum))], default))
            .WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(SchemaRegistryErrorKind.Unauthorized, e.Kind);
        Assert.Contains("HTTP 401", e.Message);
        Assert.Contains("`user` and `password` (basic auth) or `token` (bearer) of the `registry` section", e.Message);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task PrepareAsync_IdUnknownToRegistry_RecordDeadLetteredNoWait()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        using var client = Client(server);
        var layout = Layout("name");
        var logger = new KafkaTestLogger();
        var decoder = new AvroRecordDecoder(layout, client, options: Outage(-1), logger: logger);
        var record = NewRecord(layout, Message(777, AnnDatum));

        await decoder.PrepareAsync([record], default).AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        decoder.Decode(record);

        Assert.Equal(RecordStatus.Failed, record.Status);
        Assert.Equal("deserialize", record.FailedStage);
        Assert.Contains("unknown schema id 777", record.FailureReason);
        Assert.Contains("HTTP 404, error 40403", record.FailureReason);
        Assert.Equal(0, logger.Count("is unavailable"));
    }

    [Fact]
    public async Task Decode_WithReaderSchema_ResolvedPerWriterId()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        var v1 = server.Register("users-value", UserV1);
        var v2 = server.Register("users-value", """
            {"type":"record","name":"User","namespace":"shop","fields":[
              {"name":"id","type":"int"},{"name":"name","type":"string"},{"name":"vip","type":"boolean"}]}
            """);
        using var client = Client(server);
        var reader = AvroSchema.Parse("""
            {"type":"record","name":"User","namespace":"shop","fields":[
              {"name":"id","type":"long"},{"name":"vip","type":"boolean","default":false},{"name":"name","type":"string"}]}
            """);
        var layout = Layout("id", "vip", "name");
        var decoder = new AvroRecordDecoder(layout, client, reader);
        var a = NewRecord(layout, Message(v1, AnnDatum));
        var b = NewRecord(layout, Message(v2, "10 02 62 01"));

        await decoder.PrepareAsync([a, b], default);
        decoder.Decode(a);
        decoder.Decode(b);

        Assert.True(a.IsActive && b.IsActive, a.FailureReason ?? b.FailureReason);
        Assert.Equal((7L, false, "ann"), (a[layout.Slot("id")].AsInt, a[layout.Slot("vip")].AsBool, a[layout.Slot("name")].AsString));
        Assert.Equal((8L, true, "b"), (b[layout.Slot("id")].AsInt, b[layout.Slot("vip")].AsBool, b[layout.Slot("name")].AsString));
    }

    [Fact]
    public async Task Decode_ReaderSchemaIncompatible_FailsWithResolutionReason()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        var id = server.Register("users-value", UserV1);
        using var client = Client(server);
        var reader = AvroSchema.Parse("{\"type\":\"record\",\"name\":\"User\",\"namespace\":\"shop\",\"fields\":[{\"name\":\"email\",\"type\":\"string\"}]}");
        var layout = Layout("email");
        var decoder = new AvroRecordDecoder(layout, client, reader);
        var record = NewRecord(layout, Message(id, AnnDatum));

        await decoder.PrepareAsync([record], default);
        decoder.Decode(record);

        Assert.Equal(RecordStatus.Failed, record.Status);
        Assert.Contains($"schema id {id} cannot be read with the configured reader schema", record.FailureReason);
        Assert.Contains("'email'", record.FailureReason);
    }

    [Fact]
    public async Task Decode_NonAvroSchemaType_FailsClearly()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        var id = server.Register("users-value", "syntax = \"proto3\";", "PROTOBUF");
        using var client = Client(server);
        var layout = Layout("id");
        var decoder = new AvroRecordDecoder(layout, client);
        var record = NewRecord(layout, Message(id, "00"));

        await decoder.PrepareAsync([record], default);
        decoder.Decode(record);

        Assert.Contains("is a PROTOBUF schema, not Avro", record.FailureReason);
    }

    [Fact]
    public async Task Decode_Keys_DecodedUnderKeyPrefix()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        var valueId = server.Register("users-value", UserV1);
        var keyId = server.Register("users-key", "{\"type\":\"record\",\"name\":\"Key\",\"fields\":[{\"name\":\"tenant\",\"type\":\"string\"}]}");
        var stringKeyId = server.Register("other-key", "\"string\"");
        using var client = Client(server);
        var layout = Layout("id", "key.tenant", "key");
        var decoder = new AvroRecordDecoder(layout, client, null, new AvroRecordDecoderOptions { DecodeKeys = true });
        var a = NewRecord(layout, Message(valueId, AnnDatum), Message(keyId, "04 6163"));
        var b = NewRecord(layout, Message(valueId, AnnDatum), Message(stringKeyId, "02 7A"));
        var c = NewRecord(layout, Message(valueId, AnnDatum), [9]);
        var d = NewRecord(layout, Message(valueId, AnnDatum), null);

        await decoder.PrepareAsync([a, b, c, d], default);
        decoder.Decode(a);
        decoder.Decode(b);
        decoder.Decode(c);
        decoder.Decode(d);

        Assert.Equal("ac", a[layout.Slot("key.tenant")].AsString);
        Assert.Equal("{tenant:ac}", a[layout.Slot("key")].ToString());
        Assert.Equal("z", b[layout.Slot("key")].AsString);
        Assert.Equal(RecordStatus.Failed, c.Status);
        Assert.Contains("Avro key of 1 byte(s)", c.FailureReason);
        Assert.True(d.IsActive, "a message without a key is not a decoding failure");
        Assert.True(d[layout.Slot("key")].IsMissing);
    }

    [Fact]
    public async Task Decode_SchemaWithReferences_ReferencedTypesResolved()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        server.Register("money", "{\"type\":\"record\",\"name\":\"Money\",\"namespace\":\"lib\",\"fields\":[{\"name\":\"cents\",\"type\":\"long\"}]}");
        var id = server.Register("orders-value", "{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"total\",\"type\":\"lib.Money\"}]}", "AVRO", ("lib.Money", "money", 1));
        using var client = Client(server);
        var layout = Layout("total.cents");
        var decoder = new AvroRecordDecoder(layout, client);
        var record = NewRecord(layout, Message(id, "C801"));

        await decoder.PrepareAsync([record], default);
        decoder.Decode(record);

        Assert.True(record.IsActive, record.FailureReason);
        Assert.Equal(Value.FromInt(100), record[layout.Slot("total.cents")]);
    }

    [Fact]
    public async Task Decode_ParallelWorkers_SamePlanThreadSafe()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        var id = server.Register("users-value", UserV1);
        using var client = Client(server);
        var layout = Layout("id", "name", "address.city");
        var decoder = new AvroRecordDecoder(layout, client);
        var records = Enumerable.Range(0, 4000).Select(_ => NewRecord(layout, Message(id, AnnDatum))).ToArray();
        await decoder.PrepareAsync(records, default);

        Parallel.ForEach(records, new ParallelOptions { MaxDegreeOfParallelism = 4 }, decoder.Decode);

        Assert.All(records, r => Assert.Equal("oslo", r[layout.Slot("address.city")].AsString));
        Assert.Single(server.Requests);
    }
}

public sealed class AvroRecordDecoderCreateTests
{
    [Fact]
    public async Task Create_FromFormatOptions_ReaderSchemaRelativeToPipelineFolder()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        var id = server.Register("t-value", "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}");
        var dir = Directory.CreateTempSubdirectory("avro-create-");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir.FullName, "schemas"));
            File.WriteAllText(Path.Combine(dir.FullName, "schemas", "r.avsc"),
                "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"double\"},{\"name\":\"b\",\"type\":\"string\",\"default\":\"d\"}]}");
            var layout = new RecordLayout();
            layout.Slot("a");
            layout.Slot("b");
            layout.Freeze();
            var format = new StreamEnrich.Configuration.FormatOptions { Type = "avro", Registry = new() { Url = server.Url }, ReaderSchema = "schemas/r.avsc" };
            using var decoder = AvroRecordDecoder.Create(format, layout, dir.FullName);
            var record = layout.NewRecord();
            record.Payload = [0, 0, 0, 0, (byte)id, 6];

            await decoder.PrepareAsync([record], default);
            decoder.Decode(record);

            Assert.True(record.IsActive, record.FailureReason);
            Assert.Equal(Value.FromFloat(3), record[layout.Slot("a")]);
            Assert.Equal("d", record[layout.Slot("b")].AsString);
            format.ReaderSchema = "schemas/missing.avsc";
            Assert.Contains("does not exist", Assert.Throws<AvroSchemaException>(() => AvroRecordDecoder.Create(format, layout, dir.FullName)).Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
