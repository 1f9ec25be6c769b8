using StreamEnrich.Pipeline;
using Xunit;

namespace StreamEnrich.Tests.Pipeline;

public class RuntimeStatsTests
{
    [Fact]
    public void Now_CountsThisProcesssCpuAllocationsAndCollections()
    {
        var before = RuntimeStats.Now();
        var keep = new List<byte[]>();
        for (var i = 0; i < 64; i++) keep.Add(new byte[256 * 1024]); // 16 MB
        GC.Collect(0);
        var spin = System.Diagnostics.Stopwatch.StartNew();
        while (spin.ElapsedMilliseconds < 50) { } // CPU time to see
        var after = RuntimeStats.Now();
        GC.KeepAlive(keep);

        Assert.True(after.SinceStart > before.SinceStart, $"{before.SinceStart} then {after.SinceStart}");
        Assert.True(after.SinceStart > TimeSpan.Zero && after.SinceStart < TimeSpan.FromHours(2), after.SinceStart.ToString());
        Assert.True(after.Cpu - before.Cpu >= TimeSpan.FromMilliseconds(30), $"{before.Cpu} then {after.Cpu}");
        Assert.True(after.Allocated - before.Allocated >= 16L * 1024 * 1024, $"{before.Allocated} then {after.Allocated}");
        Assert.True(after.Gen0 > before.Gen0, $"gen0 {before.Gen0} then {after.Gen0}");
        Assert.True(after.JitMethods >= before.JitMethods && after.JitMethods > 0, $"{before.JitMethods} then {after.JitMethods}");
    }

    [Fact]
    public void ToString_SaysWhatEachNumberIs()
    {
        var s = new RuntimeStats(TimeSpan.FromMilliseconds(310), TimeSpan.FromMilliseconds(420), 594, TimeSpan.FromMilliseconds(198),
            4, 3, 1, TimeSpan.FromMilliseconds(19), 24L * 1024 * 1024, 104L * 1024 * 1024).ToString();
        Assert.Equal("0.31 s since the process started, 0.42 s CPU; JIT 594 methods in 198 ms; GC 4/3/1 (gen0/1/2), 19 ms paused, heap 24 MB, 104 MB allocated", s);
    }
}
