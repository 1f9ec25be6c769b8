using System.Threading.Tasks.Dataflow;
using StreamEnrich.Pipeline;
using StreamEnrich.Records;

namespace StreamEnrich.Sources.File;

/// <summary>
/// A source over messages already in memory (read from a file for dry-run, or a pipeline file's test inputs).
/// Messages get partition 0 and offsets 0..n-1, so dead-letter reasons point at the input line.
/// </summary>
internal sealed class MemoryChunkSource(string topic, IReadOnlyList<byte[]?> payloads, int chunkSize = 500) : IChunkSource
{
    private long _completed;

    public long CompletedRecords => Interlocked.Read(ref _completed);

    public async Task RunAsync(ITargetBlock<RecordChunk> target, Func<Record> newRecord, CancellationToken stop)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var start = 0; start < payloads.Count && !stop.IsCancellationRequested; start += chunkSize)
        {
            var n = Math.Min(chunkSize, payloads.Count - start);
            var records = new Record[n];
            long bytes = 0;
            for (var i = 0; i < n; i++)
            {
                var r = newRecord();
                r.Topic = topic;
                r.Partition = 0;
                r.Offset = start + i;
                r.TimestampMs = now;
                r.Payload = payloads[start + i];
                bytes += r.Payload?.Length ?? 0;
                records[i] = r;
            }
            if (!await target.SendAsync(new RecordChunk(records, n) { PayloadBytes = bytes }, stop).ConfigureAwait(false)) break;
        }
        target.Complete();
    }

    public void Complete(RecordChunk chunk) => Interlocked.Add(ref _completed, chunk.Count);

    public Task CloseAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public TimeSpan WaitedForPipeline => TimeSpan.Zero; // not measured: it feeds the engine benchmark and dry-runs

    public string StatusLine() => $"{CompletedRecords} of {payloads.Count} input messages finished";
}

/// <summary>Reads dry-run input files: one message per line, as JSON text or base64 (binary payloads).</summary>
internal static class InputFile
{
    public static IReadOnlyList<byte[]?> Read(string path, string framing)
    {
        var lines = System.IO.File.ReadAllLines(path);
        var result = new List<byte[]?>(lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.Length == 0) continue;
            switch (framing)
            {
                case "lines":
                    result.Add(System.Text.Encoding.UTF8.GetBytes(line));
                    break;
                case "base64":
                    try
                    {
                        result.Add(Convert.FromBase64String(line.Trim()));
                    }
                    catch (FormatException)
                    {
                        throw new InvalidDataException($"{path}:{i + 1}: not valid base64 (the input framing is base64: one base64-encoded message per line).");
                    }
                    break;
                default:
                    throw new ArgumentException($"unknown input framing '{framing}' (use lines or base64)", nameof(framing));
            }
        }
        return result;
    }
}
