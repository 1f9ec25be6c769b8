using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace StreamEnrich.Formats.SchemaRegistry.Embedded;

/// <summary>
/// A minimal read-only Schema Registry inside the process, for the benchmark and the demo: it serves
/// <c>GET /schemas/ids/{id}</c> (the only call the Avro decoder needs for schemas without references) with the
/// registry's JSON bodies, over plain HTTP/1.1 on 127.0.0.1 and an ephemeral port, one request per connection.
/// Not a registry for production: no subjects, no compatibility checks, no auth.
/// </summary>
internal sealed class EmbeddedSchemaRegistry : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentDictionary<int, string> _schemas = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _accept = Task.CompletedTask;
    private int _nextId;

    private EmbeddedSchemaRegistry(int firstId) => _nextId = firstId;

    /// <summary>Base URL, e.g. <c>http://127.0.0.1:40123</c>.</summary>
    public string Url { get; private set; } = "";

    /// <summary>Number of requests served (any path).</summary>
    public int Requests => Volatile.Read(ref _requests);
    private int _requests;

    public static EmbeddedSchemaRegistry Start(int firstId = 1)
    {
        var r = new EmbeddedSchemaRegistry(firstId);
        r._listener.Start();
        r.Url = "http://127.0.0.1:" + ((IPEndPoint)r._listener.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
        r._accept = Task.Run(r.AcceptLoopAsync);
        return r;
    }

    /// <summary>Adds a schema (its JSON text) and returns its id.</summary>
    public int Register(string schema)
    {
        var id = Interlocked.Increment(ref _nextId) - 1;
        _schemas[id] = schema;
        return id;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            var request = await ReadHeadAsync(stream, timeout.Token).ConfigureAwait(false);
            if (request is null) return;
            Interlocked.Increment(ref _requests);
            var line = request.AsSpan(0, Math.Max(0, request.IndexOf('\r', StringComparison.Ordinal))).ToString().Split(' ');
            var (status, body) = line.Length >= 2 && line[0] == "GET" ? Answer(line[1]) : (405, Error(405, "Only GET is supported."));
            var bytes = Encoding.UTF8.GetBytes(body);
            var head = $"HTTP/1.1 {status.ToString(CultureInfo.InvariantCulture)} {(status == 200 ? "OK" : "Error")}\r\nContent-Type: application/vnd.schemaregistry.v1+json\r\nContent-Length: {bytes.Length.ToString(CultureInfo.InvariantCulture)}\r\nConnection: close\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head), timeout.Token).ConfigureAwait(false);
            await stream.WriteAsync(bytes, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or the registry is stopping: nothing to answer.
        }
    }

    private static async Task<string?> ReadHeadAsync(NetworkStream stream, CancellationToken ct)
    {
        var buffer = new byte[8192];
        var length = 0;
        while (length < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
            if (n == 0) return null;
            length += n;
            var text = Encoding.ASCII.GetString(buffer, 0, length);
            if (text.Contains("\r\n\r\n", StringComparison.Ordinal)) return text;
        }
        return null;
    }

    private (int Status, string Body) Answer(string target)
    {
        var path = target.Split('?')[0];
        const string prefix = "/schemas/ids/";
        if (path.StartsWith(prefix, StringComparison.Ordinal) && int.TryParse(path.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            return _schemas.TryGetValue(id, out var schema)
                ? (200, JsonText.ToString(new Dictionary<string, string> { ["schema"] = schema }))
                : (404, Error(40403, $"Schema {id.ToString(CultureInfo.InvariantCulture)} not found"));
        return (404, Error(404, $"Not found: {path} (this embedded registry serves only GET /schemas/ids/{{id}})"));
    }

    private static string Error(int code, string message) =>
        JsonText.ToString(new Dictionary<string, object> { ["error_code"] = code, ["message"] = message });

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        try { await _accept.ConfigureAwait(false); } catch (OperationCanceledException) { }
        _listener.Dispose();
        _stop.Dispose();
    }
}
