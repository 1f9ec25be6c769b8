using StreamEnrich.Configuration;

namespace StreamEnrich.Tests.Configuration;

public class ClickHouseSinkOptionsTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8123", false)]
    [InlineData("http://localhost:8123", false)]
    [InlineData("http://[::1]:8123", false)]
    [InlineData("http://clickhouse:8123", true)]
    [InlineData("https://ch.example.com:8443", true)]
    public void UseCompression_NotSet_GzipsUnlessServerIsOnLoopback(string url, bool expected)
    {
        Assert.Equal(expected, new ClickHouseSinkOptions { Url = url }.UseCompression);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8123", true)]
    [InlineData("http://clickhouse:8123", false)]
    public void UseCompression_Set_WinsOverTheDefault(string url, bool compress)
    {
        Assert.Equal(compress, new ClickHouseSinkOptions { Url = url, Compress = compress }.UseCompression);
    }
}
