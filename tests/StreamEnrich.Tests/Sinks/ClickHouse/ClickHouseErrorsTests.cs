using StreamEnrich.Sinks.ClickHouse;

namespace StreamEnrich.Tests.Sinks.ClickHouse;

public sealed class ClickHouseErrorsTests
{
    [Theory]
    [InlineData("Code: 60, e.displayText() = DB::Exception: Table default.tt doesn't exist., e.what() = DB::Exception", 60)]
    [InlineData("Code: 252. DB::Exception: Too many parts (300). (TOO_MANY_PARTS) (version 24.3.1.1)", 252)]
    [InlineData("Bad gateway", null)]
    public void ParseCode_OldAndNewBodies(string body, int? code) => Assert.Equal(code, ClickHouseErrorCodes.ParseCode(body));

    [Theory]
    [InlineData(159, true)]
    [InlineData(164, true)]
    [InlineData(202, true)]
    [InlineData(209, true)]
    [InlineData(210, true)]
    [InlineData(241, true)]
    [InlineData(242, true)]
    [InlineData(252, true)]
    [InlineData(285, true)]
    [InlineData(319, true)]
    [InlineData(425, true)]
    [InlineData(999, true)]
    [InlineData(60, false)]
    [InlineData(16, false)]
    [InlineData(53, false)]
    [InlineData(62, false)]
    [InlineData(516, false)]
    [InlineData(192, false)]
    [InlineData(193, false)]
    [InlineData(12345, false)]
    public void IsRetryable_Codes(int code, bool retryable) => Assert.Equal(retryable, ClickHouseErrorCodes.IsRetryable(code));

    [Fact]
    public void FromResponse_HeaderWinsAndGatewayStatusIsRetryable()
    {
        var e = ClickHouseServerException.FromResponse(500, "Code: 60, e.displayText() = x", "241");
        Assert.Equal(241, e.Code);
        Assert.True(e.IsRetryable);
        Assert.Contains("MEMORY_LIMIT_EXCEEDED", e.Message, StringComparison.Ordinal);
        var gw = ClickHouseServerException.FromResponse(503, "<html>unavailable</html>", null);
        Assert.True(gw.IsRetryable);
        Assert.Null(gw.Code);
        var perm = ClickHouseServerException.FromResponse(404, "Code: 60, e.displayText() = DB::Exception: Table default.x doesn't exist.", null);
        Assert.False(perm.IsRetryable);
        Assert.Contains("UNKNOWN_TABLE", perm.Message, StringComparison.Ordinal);
    }
}
