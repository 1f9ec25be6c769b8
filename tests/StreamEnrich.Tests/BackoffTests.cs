namespace StreamEnrich.Tests;

public sealed class BackoffTests
{
    private static readonly TimeSpan First = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(2);

    [Theory]
    [InlineData(0, 100)]
    [InlineData(2, 400)]
    [InlineData(40, 2000)]
    public void FullJitter_StaysWithinZeroAndTheCappedExponential(int doublings, double capMs)
    {
        var samples = Enumerable.Range(0, 500).Select(_ => Backoff.FullJitter(First, Max, doublings).TotalMilliseconds).ToList();
        Assert.All(samples, ms => Assert.InRange(ms, 0, capMs));
        Assert.Contains(samples, ms => ms < capMs * 0.25); // really spread from zero
        Assert.Contains(samples, ms => ms > capMs * 0.75);
    }

    [Theory]
    [InlineData(0, 100)]
    [InlineData(3, 800)]
    [InlineData(40, 2000)]
    public void Jittered_StaysWithinAQuarterOfTheCappedExponentialAndNeverAboveMax(int doublings, double centreMs)
    {
        var samples = Enumerable.Range(0, 500).Select(_ => Backoff.Jittered(First, Max, doublings).TotalMilliseconds).ToList();
        Assert.All(samples, ms => Assert.InRange(ms, centreMs * 0.75, Math.Min(centreMs * 1.25, Max.TotalMilliseconds)));
        Assert.Contains(samples, ms => Math.Abs(ms - centreMs) > centreMs * 0.05 || centreMs == Max.TotalMilliseconds);
    }
}
