using StreamEnrich.Sinks.ClickHouse;
using StreamEnrich.Tests.Fixtures;

namespace StreamEnrich.Tests.Sinks.ClickHouse;

/// <summary>
/// A private ClickHouse server that also serves HTTPS, with a throwaway CA and a certificate issued for <c>localhost</c> only
/// (so <c>https://127.0.0.1:port</c> is a host name mismatch), and a user with a password. Always a local process:
/// STREAMENRICH_CLICKHOUSE_URL does not apply. Setup queries go over plain HTTP.
/// </summary>
public sealed class TlsClickHouseServerFixture : IAsyncLifetime
{
    public const string User = "tls_user";
    public const string Password = "p@ss word&1";
    private LocalClickHouseServer? _server;

    internal LocalClickHouseServer Server => _server ?? throw new InvalidOperationException("Not started.");

    /// <summary><c>https://localhost:port/</c>: matches the certificate.</summary>
    public Uri HttpsUrl => Server.HttpsUrl!;

    /// <summary><c>https://127.0.0.1:port/</c>: the same listener under a name the certificate does not cover.</summary>
    public Uri HttpsUrlByIp => new UriBuilder(HttpsUrl) { Host = "127.0.0.1" }.Uri;

    public Uri HttpUrl => Server.Url;
    public string CaFile => Server.CaFile!;

    public async Task InitializeAsync()
    {
        _server = new LocalClickHouseServer(options: new LocalClickHouseServerOptions
        {
            Https = true,
            TlsHostNames = ["localhost"],
            Users = new Dictionary<string, string> { [User] = Password },
        });
        await _server.StartAsync(TimeSpan.FromSeconds(60));
    }

    public Task<string> QueryAsync(string sql) => ClickHouseHttp.QueryAsync(HttpUrl, sql);

    public Task<string> CreateUniqueTableAsync(string columnsDdl) => ClickHouseHttp.CreateUniqueTableAsync(HttpUrl, "tls", columnsDdl);

    public Task DisposeAsync()
    {
        _server?.Dispose();
        _server = null;
        return Task.CompletedTask;
    }
}
