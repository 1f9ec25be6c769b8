using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace StreamEnrich.Tests.Fixtures;

[Collection("ClickHouse")]
public sealed class ClickHouseServerFixtureTests(ClickHouseServerFixture server)
{
    [Fact]
    public async Task CreateUniqueTableAsync_TwoCalls_GiveDistinctQueryableTables()
    {
        var a = await server.CreateUniqueTableAsync("x Int32");
        var b = await server.CreateUniqueTableAsync("x Int32");
        Assert.NotEqual(a, b);
        await server.QueryAsync($"INSERT INTO default.{a} VALUES (7)");
        Assert.Equal("7\n", await server.QueryAsync($"SELECT x FROM default.{a}"));
        Assert.Equal("0\n", await server.QueryAsync($"SELECT count() FROM default.{b}"));
    }

    [Fact]
    public async Task StopAsync_ThenStartAsync_KeepsDataAndPorts()
    {
        await using var f = await ClickHouseServerFixture.StartDedicatedAsync();
        var t = await f.CreateUniqueTableAsync("x Int32", "MergeTree ORDER BY x");
        await f.QueryAsync($"INSERT INTO default.{t} VALUES (1),(2)");
        var url = f.Url;
        await f.StopAsync();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => f.QueryAsync("SELECT 1"));
        await f.StartAsync();
        Assert.Equal(url, f.Url);
        Assert.Equal("2\n", await f.QueryAsync($"SELECT count() FROM default.{t}"));
    }

    [Fact]
    public async Task StartAsync_PortTakenBeforeTheServerBindsIt_PicksNewPortsAndStarts()
    {
        using var server = new StreamEnrich.Sinks.ClickHouse.LocalClickHouseServer();
        var taken = server.HttpPort;
        using var squatter = new TcpListener(IPAddress.Loopback, taken);
        squatter.Start(); // what another process may do between picking the port and the server binding it

        await server.StartAsync();

        Assert.NotEqual(taken, server.HttpPort);
        using var http = new HttpClient();
        Assert.Equal("Ok.\n", await http.GetStringAsync(new Uri(server.Url, "ping")));
        await server.StopAsync();
    }

    [Fact]
    public async Task StartAsync_AnotherServerAnswersPingOnItsPort_PicksNewPortsAndStarts()
    {
        using var server = new StreamEnrich.Sinks.ClickHouse.LocalClickHouseServer();
        var taken = server.HttpPort;
        // Another HTTP server on the port (another test's ClickHouse in the CI failure this guards against): it answers
        // every request, /ping included, with 200 "Ok.", and would go away with its test.
        using var impostor = new TcpListener(IPAddress.Loopback, taken);
        impostor.Start();
        using var stop = new CancellationTokenSource();
        var answering = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var c = await impostor.AcceptTcpClientAsync(stop.Token);
                var s = c.GetStream();
                _ = await s.ReadAsync(new byte[4096], stop.Token); // the request (its content does not matter)
                await s.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nOk.\n"u8.ToArray(), stop.Token);
            }
        });

        await server.StartAsync();
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => answering);

        Assert.NotEqual(taken, server.HttpPort);
        Assert.Equal(server.InstanceId + "\n", await ClickHouseHttp.QueryAsync(server.Url,
            "SELECT substitution FROM system.macros WHERE macro = 'streamenrich_instance'"));
        await server.StopAsync();
    }

    [Fact]
    public async Task StopAsync_WhileDown_PortsStayHeldFromOtherSocketsAndRefuseClients()
    {
        using var server = new StreamEnrich.Sinks.ClickHouse.LocalClickHouseServer();
        Assert.Equal(AddressInUse, TryBind(server.HttpPort)); // before the first start too
        await server.StartAsync();
        await server.StopAsync();

        // The kernel does not hand the killed server's ports to another socket (a broker or client of another test), a
        // client is refused as by a dead server, and the server comes back on the same ports.
        Assert.Equal(AddressInUse, TryBind(server.HttpPort));
        Assert.Equal(AddressInUse, TryBind(server.TcpPort));
        using (var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            var refused = Assert.Throws<SocketException>(() => client.Connect(IPAddress.Loopback, server.HttpPort));
            Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        }
        var port = server.HttpPort;
        await server.StartAsync();
        Assert.Equal(port, server.HttpPort);
        Assert.Equal("1\n", await ClickHouseHttp.QueryAsync(server.Url, "SELECT 1"));
        await server.StopAsync();
    }

    /// <summary>
    /// Binds a socket without SO_REUSEADDR to the loopback port, straight through libc (.NET sets SO_REUSEADDR on every
    /// bind): the kernel's rule for such a bind is the one it applies when it picks a port for a bind to port 0 or an
    /// outgoing connection. Returns 0 when the bind succeeded, else errno.
    /// </summary>
    private static int TryBind(int port)
    {
        var fd = NativeSocket(2 /* AF_INET */, 1 /* SOCK_STREAM */, 0);
        Assert.True(fd >= 0, "socket() failed");
        try
        {
            var address = new byte[16]; // sockaddr_in: family (host order), port and address (network order), zero padding
            BitConverter.TryWriteBytes(address.AsSpan(0, 2), (ushort)2);
            address[2] = (byte)(port >> 8);
            address[3] = (byte)port;
            address[4] = 127;
            address[7] = 1;
            return NativeBind(fd, address, address.Length) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
        finally
        {
            _ = NativeClose(fd);
        }
    }

    private const int AddressInUse = 98; // EADDRINUSE on Linux

    [DllImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static extern int NativeSocket(int domain, int type, int protocol);

    [DllImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static extern int NativeBind(int fd, byte[] address, int length);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int NativeClose(int fd);
}
