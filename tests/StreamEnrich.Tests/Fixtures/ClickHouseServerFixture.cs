using StreamEnrich.Sinks.ClickHouse;

namespace StreamEnrich.Tests.Fixtures;

/// <summary>
/// A ClickHouse server for tests: a private <c>clickhouse-server</c> process on free loopback ports, or the server named by
/// <c>STREAMENRICH_CLICKHOUSE_URL</c> (then <see cref="StopAsync"/>/<see cref="StartAsync"/> are unsupported,
/// see <see cref="CanRestart"/>). Shared by the "ClickHouse" test collection; <see cref="StartDedicatedAsync"/> gives a
/// test its own server to kill and restart.
/// </summary>
public sealed class ClickHouseServerFixture : IAsyncLifetime, IDisposable
{
    public const string UrlVariable = "STREAMENRICH_CLICKHOUSE_URL";
    private LocalClickHouseServer? _server;
    private readonly bool _dedicated;

    public ClickHouseServerFixture() : this(false) { }

    private ClickHouseServerFixture(bool dedicated) => _dedicated = dedicated;

    /// <summary>The server's HTTP endpoint, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri Url { get; private set; } = new("http://127.0.0.1:8123/");

    /// <summary>False when the server is external (STREAMENRICH_CLICKHOUSE_URL) and cannot be killed by the tests.</summary>
    public bool CanRestart => _server is not null;

    /// <summary>The local server (null when external).</summary>
    internal LocalClickHouseServer? Server => _server;

    /// <summary>A server of its own for a test that kills and restarts it (always a local process). Dispose it.</summary>
    public static async Task<ClickHouseServerFixture> StartDedicatedAsync()
    {
        var f = new ClickHouseServerFixture(dedicated: true);
        await f.InitializeAsync();
        return f;
    }

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable(UrlVariable);
        if (!_dedicated && !string.IsNullOrWhiteSpace(external))
        {
            Url = new Uri(external.EndsWith('/') ? external : external + "/");
            await QueryAsync("SELECT 1");
            return;
        }
        _server = new LocalClickHouseServer();
        Url = _server.Url;
        await _server.StartAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>Runs one statement; returns the response body; throws with ClickHouse's message on failure.</summary>
    public Task<string> QueryAsync(string sql, string? settings = null) => ClickHouseHttp.QueryAsync(Url, sql, settings);

    /// <summary>Creates a table with a name unique to this run; returns the name (in database <c>default</c>).</summary>
    public Task<string> CreateUniqueTableAsync(string columnsDdl, string engine = "Memory", string? settings = null) =>
        ClickHouseHttp.CreateUniqueTableAsync(Url, "t", columnsDdl, engine, settings);

    /// <summary>Kills the server (SIGKILL). Throws when the server is external.</summary>
    public Task StopAsync() =>
        (_server ?? throw new InvalidOperationException($"Server is external ({UrlVariable}); it cannot be stopped.")).StopAsync();

    /// <summary>Starts the killed server again on the same ports and data directory.</summary>
    public Task StartAsync() =>
        (_server ?? throw new InvalidOperationException($"Server is external ({UrlVariable}); it cannot be started.")).StartAsync(TimeSpan.FromSeconds(60));

    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _server?.Dispose();
        _server = null;
    }
}

[CollectionDefinition("ClickHouse")]
public sealed class ClickHouseCollection : ICollectionFixture<ClickHouseServerFixture>;
