using StreamEnrich.Configuration;
using StreamEnrich.Formats.SchemaRegistry;
using StreamEnrich.Tests.Fixtures;

namespace StreamEnrich.Tests.Formats.SchemaRegistry;

public sealed class SchemaRegistryClientTests
{
    private const string Schema = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}";

    private static SchemaRegistryOptions Options(string url) => new()
    {
        Url = url,
        Timeout = TimeSpan.FromSeconds(5),
        MaxRetries = 3,
        RetryBackoff = TimeSpan.FromMilliseconds(10),
        RetryMaxBackoff = TimeSpan.FromMilliseconds(40),
    };

    [Fact]
    public async Task GetSchemaAsync_RegisteredId_ReturnsSchemaAndType()
    {
        await using var server = await SchemaRegistryServer.StartAsync(firstId: 100);
        var id = server.Register("t-value", Schema);
        var json = server.Register("j-value", "{\"type\":\"object\"}", "JSON");
        using var client = new SchemaRegistryClient(Options(server.Url));

        var s = await client.GetSchemaAsync(id, default);
        var j = await client.GetSchemaAsync(json, default);

        Assert.Equal(100, id);
        Assert.Equal(Schema, s.Schema);
        Assert.Equal("AVRO", s.SchemaType); // absent schemaType means AVRO
        Assert.Equal("JSON", j.SchemaType);
        Assert.Equal(["/schemas/ids/100", "/schemas/ids/101"], server.Requests);
    }

    [Fact]
    public async Task GetSchemaAsync_BasicAuth_SendsHeader()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        server.RequiredAuthorization = "Basic " + Convert.ToBase64String("svc:s3cret"u8.ToArray());
        var id = server.Register("t-value", Schema);
        var options = Options(server.Url);
        options.User = "svc";
        options.Password = "s3cret";
        using var client = new SchemaRegistryClient(options);

        Assert.Equal(Schema, (await client.GetSchemaAsync(id, default)).Schema);
        Assert.Equal(server.RequiredAuthorization, server.Authorizations.Single());
    }

    [Fact]
    public async Task GetSchemaAsync_BearerToken_SendsHeader()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        server.RequiredAuthorization = "Bearer tok-123";
        var id = server.Register("t-value", Schema);
        var options = Options(server.Url);
        options.Token = "tok-123";
        using var client = new SchemaRegistryClient(options);

        Assert.Equal(Schema, (await client.GetSchemaAsync(id, default)).Schema);
    }

    [Fact]
    public async Task GetSchemaAsync_WrongCredentials_UnauthorizedNotRetried()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        server.RequiredAuthorization = "Bearer right";
        var id = server.Register("t-value", Schema);
        var options = Options(server.Url);
        options.Token = "wrong";
        using var client = new SchemaRegistryClient(options);

        var e = await Assert.ThrowsAsync<SchemaRegistryException>(async () => await client.GetSchemaAsync(id, default));

        Assert.Equal(SchemaRegistryErrorKind.Unauthorized, e.Kind);
        Assert.Contains("token", e.Message);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task GetSchemaAsync_ServerStoppedAfterFirstFetch_SecondFetchServedFromCache()
    {
        var server = await SchemaRegistryServer.StartAsync();
        var id = server.Register("t-value", Schema);
        var other = server.Register("t-value", Schema.Replace("\"R\"", "\"S\"", StringComparison.Ordinal));
        using var client = new SchemaRegistryClient(Options(server.Url));
        await client.GetSchemaAsync(id, default);

        await server.StopAsync();

        Assert.Equal(Schema, (await client.GetSchemaAsync(id, default)).Schema);
        var e = await Assert.ThrowsAsync<SchemaRegistryException>(async () => await client.GetSchemaAsync(other, default));
        Assert.Equal(SchemaRegistryErrorKind.Unavailable, e.Kind); // an id never fetched does need the registry
        Assert.Contains("after 4 attempt(s)", e.Message);
    }

    [Fact]
    public async Task GetSchemaAsync_UnknownId_PermanentUnknownSchemaIdWithoutRetry()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        using var client = new SchemaRegistryClient(Options(server.Url));

        var e = await Assert.ThrowsAsync<SchemaRegistryException>(async () => await client.GetSchemaAsync(77, default));

        Assert.Equal(SchemaRegistryErrorKind.NotFound, e.Kind);
        Assert.Equal(40403, e.ErrorCode);
        Assert.StartsWith("unknown schema id 77", e.Message, StringComparison.Ordinal);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task GetSchemaAsync_503Twice_RetriedThenSucceeds()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        var id = server.Register("t-value", Schema);
        server.FailNext(2, 503);
        using var client = new SchemaRegistryClient(Options(server.Url));

        var s = await client.GetSchemaAsync(id, default);

        Assert.Equal(Schema, s.Schema);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task GetSchemaAsync_503BeyondRetries_Unavailable()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        var id = server.Register("t-value", Schema);
        server.FailNext(100, 503);
        using var client = new SchemaRegistryClient(Options(server.Url));

        var e = await Assert.ThrowsAsync<SchemaRegistryException>(async () => await client.GetSchemaAsync(id, default));

        Assert.Equal(SchemaRegistryErrorKind.Unavailable, e.Kind);
        Assert.Contains("HTTP 503", e.Message);
        Assert.Equal(4, server.Requests.Count);
    }

    [Fact]
    public async Task GetSchemaAsync_ConcurrentCallersSameId_OneRequest()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        var id = server.Register("t-value", Schema);
        using var client = new SchemaRegistryClient(Options(server.Url));

        var all = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => client.GetSchemaAsync(id, default).AsTask()));

        Assert.All(all, s => Assert.Equal(Schema, s.Schema));
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Subjects_VersionsAndLatest()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        var v1 = server.Register("orders-value", Schema);
        var v2 = server.Register("orders-value", Schema.Replace("\"a\"", "\"b\"", StringComparison.Ordinal));
        using var client = new SchemaRegistryClient(Options(server.Url));

        Assert.Equal([1, 2], await client.GetSubjectVersionsAsync("orders-value", default));
        var latest = await client.GetSubjectVersionAsync("orders-value", "latest", default);
        var first = await client.GetSubjectVersionAsync("orders-value", "1", default);
        Assert.Equal((2, v2), (latest.Version, latest.Id));
        Assert.Equal((1, v1), (first.Version, first.Id));
        var e = await Assert.ThrowsAsync<SchemaRegistryException>(() => client.GetSubjectVersionAsync("nope", "latest", default));
        Assert.Equal(SchemaRegistryErrorKind.NotFound, e.Kind);
    }

    [Fact]
    public async Task GetSchemaAsync_FirstUrlDown_NextUrlUsed()
    {
        await using var server = await SchemaRegistryServer.StartAsync();
        var id = server.Register("t-value", Schema);
        using var client = new SchemaRegistryClient(Options("http://127.0.0.1:1," + server.Url));

        Assert.Equal(Schema, (await client.GetSchemaAsync(id, default)).Schema);
    }

    [Theory]
    [InlineData("", null, null, null, "schema registry URL is empty")]
    [InlineData("ftp://x", null, null, null, "absolute http(s) URL")]
    [InlineData("http://x", "u", null, null, "needs both registry user and password")]
    [InlineData("http://x", "u", "p", "t", "not both")]
    public void Validate_BadOptions_ClearMessage(string url, string? user, string? password, string? token, string expected)
    {
        var ctx = new OptionsValidationContext();
        new SchemaRegistryOptions { Url = url, User = user, Password = password, Token = token }.Validate(ctx);
        Assert.Contains(ctx.Errors, e => e.Message.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(-2, "registry outage_max_retries must be -1 (wait forever) or at least 0, got -2.")]
    [InlineData(-1, null)]
    [InlineData(0, null)]
    [InlineData(10, null)]
    public void Validate_OutageMaxRetries_MinusOneOrMore(int value, string? expected)
    {
        var ctx = new OptionsValidationContext();
        new SchemaRegistryOptions { Url = "http://x", OutageMaxRetries = value }.Validate(ctx);
        Assert.Equal(expected, ctx.Errors.SingleOrDefault()?.Message);
    }

    [Fact]
    public void OutageMaxRetries_Default_WaitsForever()
    {
        Assert.Equal(-1, new SchemaRegistryOptions().OutageMaxRetries);
    }
}

public sealed class SchemaRegistryClientTlsTests
{
    private const string Schema = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[]}";

    private static SchemaRegistryOptions Options(string url) => new()
    {
        Url = url, MaxRetries = 1, RetryBackoff = TimeSpan.FromMilliseconds(10), RetryMaxBackoff = TimeSpan.FromMilliseconds(20),
    };

    [Fact]
    public async Task GetSchemaAsync_Https_UntrustedRefusedCaFileOrSkipVerifyAccepted()
    {
        using var cert = SchemaRegistryServer.CreateSelfSignedCertificate();
        await using var server = await SchemaRegistryServer.StartAsync(certificate: cert);
        Assert.StartsWith("https://", server.Url, StringComparison.Ordinal);
        var id = server.Register("t-value", Schema);
        var caFile = Path.GetTempFileName();
        try
        {
            File.WriteAllText(caFile, cert.ExportCertificatePem());

            using (var untrusted = new SchemaRegistryClient(Options(server.Url)))
            {
                var e = await Assert.ThrowsAsync<SchemaRegistryException>(async () => await untrusted.GetSchemaAsync(id, default));
                Assert.Contains("tls_ca_file", e.Message);
            }
            var withCa = Options(server.Url);
            withCa.TlsCaFile = caFile;
            using (var client = new SchemaRegistryClient(withCa))
                Assert.Equal(Schema, (await client.GetSchemaAsync(id, default)).Schema);
            var skip = Options(server.Url);
            skip.TlsSkipVerify = true;
            using (var client = new SchemaRegistryClient(skip))
                Assert.Equal(Schema, (await client.GetSchemaAsync(id, default)).Schema);
        }
        finally
        {
            File.Delete(caFile);
        }
    }
}
