using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security;
using System.Text;

namespace StreamEnrich.Sinks.ClickHouse;

/// <summary>
/// A private ClickHouse server process (Debian's <c>clickhouse-server</c>) with its own config, data directory and free
/// loopback ports. Used by the tests, the demo and the benchmark. The ports and the data directory stay the same across
/// <see cref="StopAsync"/> / <see cref="StartAsync"/>, so a test can kill the server and bring it back with its data.
/// </summary>
internal sealed class LocalClickHouseServer : IDisposable
{
    private static readonly string[] KnownLocations = ["/usr/bin/clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/local/bin/clickhouse-server"];
    private readonly object _gate = new();
    private readonly Queue<string> _output = new();
    private readonly bool _ownsDirectory;
    private Process? _process;
    private bool _disposed;

    /// <param name="directory">Working directory for config, data and logs; a fresh temp directory (deleted on dispose) when null.</param>
    /// <param name="executable">The server binary; found with <see cref="FindExecutable"/> when null.</param>
    public LocalClickHouseServer(string? directory = null, string? executable = null)
    {
        Executable = executable ?? FindExecutable() ?? throw new InvalidOperationException(
            "clickhouse-server was not found (looked in $STREAMENRICH_CLICKHOUSE_SERVER, /usr/bin, /usr/sbin, /usr/local/bin and PATH). " +
            "Install it with `apt-get install clickhouse-server`, or point STREAMENRICH_CLICKHOUSE_URL at a running server.");
        _ownsDirectory = directory is null;
        Directory = directory ?? Path.Combine(Path.GetTempPath(), "streamenrich-ch-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
        HttpPort = FreePort();
        TcpPort = FreePort();
        InterserverPort = FreePort();
        ConfigPath = Path.Combine(Directory, "config.xml");
        File.WriteAllText(ConfigPath, BuildConfig());
    }

    public string Executable { get; }
    public string Directory { get; }
    public string ConfigPath { get; }
    public int HttpPort { get; }
    public int TcpPort { get; }
    public int InterserverPort { get; }
    public Uri Url => new($"http://127.0.0.1:{HttpPort.ToString(CultureInfo.InvariantCulture)}/");
    public string LogPath => Path.Combine(Directory, "log", "clickhouse-server.log");
    public string ErrorLogPath => Path.Combine(Directory, "log", "clickhouse-server.err.log");
    public bool IsRunning { get { lock (_gate) return _process is { HasExited: false }; } }

    /// <summary>The server binary: <c>$STREAMENRICH_CLICKHOUSE_SERVER</c>, a known location, or <c>clickhouse-server</c> on PATH.</summary>
    public static string? FindExecutable()
    {
        var env = Environment.GetEnvironmentVariable("STREAMENRICH_CLICKHOUSE_SERVER");
        if (!string.IsNullOrEmpty(env) && File.Exists(env)) return env;
        foreach (var p in KnownLocations) if (File.Exists(p)) return p;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, "clickhouse-server");
            if (File.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>Starts the server and waits until <c>GET /ping</c> answers; throws with the log tail when it does not.</summary>
    public async Task StartAsync(TimeSpan? timeout = null, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_gate)
        {
            if (_process is { HasExited: false }) return;
            _process?.Dispose();
            _output.Clear();
            var psi = new ProcessStartInfo(Executable)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
                WorkingDirectory = Directory,
            };
            psi.ArgumentList.Add("--config-file=" + ConfigPath);
            var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
            p.OutputDataReceived += (_, e) => Remember(e.Data);
            p.ErrorDataReceived += (_, e) => Remember(e.Data);
            p.Start();
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            _process = p;
        }

        var limit = timeout ?? TimeSpan.FromSeconds(60);
        var sw = Stopwatch.StartNew();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var ping = new Uri(Url, "ping");
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                using var resp = await http.GetAsync(ping, ct).ConfigureAwait(false);
                if (resp.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }

            int? exit = null;
            lock (_gate) if (_process is { HasExited: true } ex) exit = ex.ExitCode;
            if (exit is not null)
                throw new InvalidOperationException(
                    $"clickhouse-server ({Executable}, config {ConfigPath}) exited with code {exit} before answering /ping on port {HttpPort}.\n{Tail()}");
            if (sw.Elapsed > limit)
            {
                await StopAsync().ConfigureAwait(false);
                throw new TimeoutException(
                    $"clickhouse-server did not answer GET {ping} within {limit.TotalSeconds:0}s (config {ConfigPath}).\n{Tail()}");
            }
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Kills the server with SIGKILL (no clean shutdown), as a crash would, and waits for it to exit.</summary>
    public async Task StopAsync()
    {
        Process? p;
        lock (_gate) p = _process;
        if (p is null) return;
        try
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try { await p.WaitForExitAsync(cts.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
    }

    /// <summary>The last lines of the server's console output and error log, for failure messages.</summary>
    public string Tail(int lines = 30)
    {
        var sb = new StringBuilder();
        lock (_gate)
        {
            if (_output.Count > 0) sb.Append("--- console ---\n").AppendJoin('\n', _output).Append('\n');
        }
        foreach (var path in new[] { ErrorLogPath, LogPath })
        {
            try
            {
                if (!File.Exists(path)) continue;
                using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(fs);
                var all = reader.ReadToEnd().Split('\n');
                sb.Append("--- ").Append(path).Append(" ---\n").AppendJoin('\n', all.Skip(Math.Max(0, all.Length - lines))).Append('\n');
                break;
            }
            catch (IOException) { }
        }
        return sb.ToString();
    }

    private void Remember(string? line)
    {
        if (line is null) return;
        lock (_gate)
        {
            _output.Enqueue(line);
            while (_output.Count > 50) _output.Dequeue();
        }
    }

    private string BuildConfig()
    {
        string D(string sub) => SecurityElement.Escape(Path.Combine(Directory, sub) + "/");
        var logDir = Path.Combine(Directory, "log");
        System.IO.Directory.CreateDirectory(logDir);
        var inv = CultureInfo.InvariantCulture;
        return $"""
            <?xml version="1.0"?>
            <yandex>
              <logger>
                <level>information</level>
                <log>{SecurityElement.Escape(LogPath)}</log>
                <errorlog>{SecurityElement.Escape(ErrorLogPath)}</errorlog>
                <size>100M</size>
                <count>2</count>
                <console>0</console>
              </logger>
              <listen_host>127.0.0.1</listen_host>
              <http_port>{HttpPort.ToString(inv)}</http_port>
              <tcp_port>{TcpPort.ToString(inv)}</tcp_port>
              <interserver_http_port>{InterserverPort.ToString(inv)}</interserver_http_port>
              <interserver_http_host>127.0.0.1</interserver_http_host>
              <max_connections>256</max_connections>
              <keep_alive_timeout>10</keep_alive_timeout>
              <path>{D("data")}</path>
              <tmp_path>{D("tmp")}</tmp_path>
              <user_files_path>{D("user_files")}</user_files_path>
              <format_schema_path>{D("format_schemas")}</format_schema_path>
              <users_config>/etc/clickhouse-server/users.xml</users_config>
              <default_profile>default</default_profile>
              <default_database>default</default_database>
              <timezone>UTC</timezone>
              <mark_cache_size>268435456</mark_cache_size>
              <uncompressed_cache_size>268435456</uncompressed_cache_size>
              <mlock_executable>false</mlock_executable>
            </yandex>
            """;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        StopAsync().GetAwaiter().GetResult();
        lock (_gate) _process?.Dispose();
        if (_ownsDirectory)
        {
            for (var i = 0; i < 5; i++)
            {
                try { System.IO.Directory.Delete(Directory, recursive: true); break; }
                catch (IOException) { Thread.Sleep(100); }
                catch (UnauthorizedAccessException) { break; }
            }
        }
    }
}
