namespace StreamEnrich;

/// <summary>Exponential backoff shared by everything that retries (ClickHouse inserts, the Schema Registry).</summary>
internal static class Backoff
{
    /// <summary><paramref name="first"/> × 2^<paramref name="doublings"/>, capped at <paramref name="max"/>.</summary>
    private static double CapMs(TimeSpan first, TimeSpan max, int doublings) =>
        Math.Min(max.TotalMilliseconds, first.TotalMilliseconds * Math.Pow(2, Math.Clamp(doublings, 0, 30)));

    /// <summary>Full jitter: uniform in [0, min(max, first × 2^doublings)] (spreads many clients retrying one server).</summary>
    public static TimeSpan FullJitter(TimeSpan first, TimeSpan max, int doublings) =>
        TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * CapMs(first, max, doublings));

    /// <summary>±25% around min(max, first × 2^doublings), never above <paramref name="max"/>.</summary>
    public static TimeSpan Jittered(TimeSpan first, TimeSpan max, int doublings) =>
        TimeSpan.FromMilliseconds(Math.Min(max.TotalMilliseconds, CapMs(first, max, doublings) * (0.75 + Random.Shared.NextDouble() * 0.5)));
}
