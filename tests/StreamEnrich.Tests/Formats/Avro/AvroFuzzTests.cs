using System.Diagnostics;
using StreamEnrich.Formats.Avro;
using StreamEnrich.Records;

namespace StreamEnrich.Tests.Formats.Avro;

/// <summary>
/// Hostile input: random, truncated and mutated bytes (seeded, ~3 s in all). Only <see cref="AvroException"/> may
/// escape, and the memory a decode allocates stays proportional to its input.
/// </summary>
public sealed class AvroFuzzTests
{
    private const int Seed = 20261120;

    private static (AvroDecodingPlan Plan, AvroValueReader Values, RecordLayout Layout, List<byte[]> Seeds) Setup()
    {
        using var file = AvroContainerFileReader.Open(AvroTestData.Local("alltypes-deflate.avro"));
        var layout = new RecordLayout();
        foreach (var p in new[] { "i", "l", "s", "by", "arr", "m", "u", "nested", "nested.deeper.y", "dec", "uid", "tsms", "e", "fx" }) layout.Slot(p);
        layout.Freeze();
        var plan = AvroDecodingPlan.Compile(file.Schema, null, layout);
        var values = AvroValueReader.Compile(file.Schema);
        // Seeds: each valid datum of the fixture, cut out of its block.
        var seeds = new List<byte[]>();
        foreach (var block in file.Blocks())
        {
            var pos = 0;
            for (var i = 0; i < block.Count; i++)
            {
                var start = pos;
                values.Read(block.Data, ref pos, block.Data.Length);
                seeds.Add(block.Data[start..pos]);
            }
        }
        return (plan, values, layout, seeds);
    }

    private static long DecodeBoth(AvroDecodingPlan plan, AvroValueReader values, Value[] slots, byte[] input)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            plan.Decode(input, 0, input.Length, slots);
        }
        catch (AvroException)
        {
        }
        try
        {
            var pos = 0;
            values.Read(input, ref pos, input.Length);
        }
        catch (AvroException)
        {
        }
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary>Generous but linear: Values are 32 bytes, map keys are strings, exceptions carry messages and traces.</summary>
    private static long Budget(int inputLength) => 256L * inputLength + 256 * 1024;

    [Fact]
    public void Decode_RandomTruncatedAndMutatedBytes_OnlyAvroExceptionAndBoundedAllocation()
    {
        var (plan, values, layout, seeds) = Setup();
        Assert.Equal(7, seeds.Count);
        var rng = new Random(Seed);
        var slots = new Value[layout.Count];
        var sw = Stopwatch.StartNew();
        long inputs = 0, worst = 0;

        // Every truncation of every valid datum.
        foreach (var s in seeds)
            for (var n = 0; n < s.Length; n++)
            {
                var alloc = DecodeBoth(plan, values, slots, s[..n]);
                Assert.True(alloc <= Budget(n), $"truncated seed of {n} bytes allocated {alloc} bytes");
                inputs++;
            }

        while (sw.Elapsed < TimeSpan.FromSeconds(2.5))
        {
            byte[] input;
            switch (rng.Next(4))
            {
                case 0: // pure noise
                    input = new byte[rng.Next(0, 256)];
                    rng.NextBytes(input);
                    break;
                case 1: // a valid datum with a few bytes changed
                    input = (byte[])seeds[rng.Next(seeds.Count)].Clone();
                    for (var k = rng.Next(1, 4); k > 0 && input.Length > 0; k--) input[rng.Next(input.Length)] = (byte)rng.Next(256);
                    break;
                case 2: // a valid datum with a huge varint spliced in (lengths, counts, branch indexes)
                {
                    var seed = seeds[rng.Next(seeds.Count)];
                    var at = rng.Next(seed.Length);
                    byte[] big = rng.Next(2) == 0 ? [0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01] : [0x81, 0x80, 0x80, 0x80, 0x08];
                    input = [.. seed[..at], .. big, .. seed[at..]];
                    break;
                }
                default: // mostly-continuation bytes: long varints everywhere
                    input = new byte[rng.Next(1, 64)];
                    for (var k = 0; k < input.Length; k++) input[k] = (byte)(rng.Next(8) == 0 ? rng.Next(128) : 0x80 | rng.Next(128));
                    break;
            }
            var alloc = DecodeBoth(plan, values, slots, input);
            worst = Math.Max(worst, alloc - 256L * input.Length);
            Assert.True(alloc <= Budget(input.Length), $"input of {input.Length} bytes ({Convert.ToHexString(input)}) allocated {alloc} bytes");
            inputs++;
        }
        Assert.True(inputs > 1000, $"only {inputs} inputs tried");
    }

    [Fact]
    public void Open_MutatedContainerFiles_OnlyAvroErrors()
    {
        var original = File.ReadAllBytes(AvroTestData.Local("alltypes-deflate.avro"));
        var rng = new Random(Seed);
        var sw = Stopwatch.StartNew();
        var tried = 0;
        while (sw.Elapsed < TimeSpan.FromSeconds(0.5))
        {
            var bytes = (byte[])original.Clone();
            if (rng.Next(3) == 0) bytes = bytes[..rng.Next(bytes.Length)];
            else for (var k = rng.Next(1, 5); k > 0; k--) bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
            try
            {
                using var reader = AvroContainerFileReader.Open(new MemoryStream(bytes));
                foreach (var _ in reader.ReadValues()) { }
            }
            catch (AvroException) // including a damaged schema in the header
            {
            }
            tried++;
        }
        Assert.True(tried > 50);
    }
}
