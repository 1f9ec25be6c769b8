using System.Buffers;
using System.Text;
using System.Text.Json;
using StreamEnrich.Records;

namespace StreamEnrich.DeadLetter;

/// <summary>
/// Appends failed records to a local file, one JSON object per line, with the same fields as the Kafka
/// headers (<see cref="DeadLetterHeaders"/>) plus <c>key</c>, <c>value</c> and <c>headers</c>. Byte fields
/// are written as UTF-8 text when valid UTF-8, otherwise base64 with a <c>*_encoding: base64</c> field.
/// Flushed to disk before <see cref="WriteAsync"/> returns. Safe to call concurrently.
/// </summary>
internal sealed class FileDeadLetterSink : IDeadLetterSink
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly FileStream _file;
    private readonly string _pipeline;
    private readonly ArrayBufferWriter<byte> _buffer = new(16 * 1024); // reused: writes are serialized by the gate

    public FileDeadLetterSink(string path, string pipelineName)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
        _pipeline = pipelineName;
        var dir = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        try
        {
            _file = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read, 64 * 1024, FileOptions.Asynchronous);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DeadLetterException($"Pipeline {pipelineName}: cannot open dead-letter file '{Path}': {e.Message}", e);
        }
    }

    public string Path { get; }

    public string Description => $"file {Path}";

    public async Task WriteAsync(IReadOnlyList<Record> failed, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(failed);
        if (failed.Count == 0) return;
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var buffer = _buffer;
            buffer.ResetWrittenCount();
            using (var json = new Utf8JsonWriter(buffer))
            {
                foreach (var r in failed)
                {
                    WriteRecord(json, r);
                    json.Flush();
                    buffer.Write("\n"u8);
                    json.Reset(buffer);
                }
            }
            try
            {
                await _file.WriteAsync(buffer.WrittenMemory, ct).ConfigureAwait(false);
                await _file.FlushAsync(ct).ConfigureAwait(false);
                _file.Flush(flushToDisk: true);
            }
            catch (IOException e)
            {
                throw new DeadLetterException($"Pipeline {_pipeline}: writing dead letters to '{Path}' failed: {e.Message}", e);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private void WriteRecord(Utf8JsonWriter json, Record r)
    {
        json.WriteStartObject();
        json.WriteString(DeadLetterHeaders.Pipeline, _pipeline);
        json.WriteString(DeadLetterHeaders.Stage, DeadLetterHeaders.StageOf(r));
        json.WriteString(DeadLetterHeaders.Reason, DeadLetterHeaders.ReasonOf(r));
        json.WriteString(DeadLetterHeaders.SourceTopic, r.Topic);
        json.WriteNumber(DeadLetterHeaders.SourcePartition, r.Partition);
        json.WriteNumber(DeadLetterHeaders.SourceOffset, r.Offset);
        json.WriteNumber(DeadLetterHeaders.SourceTimestamp, r.TimestampMs);
        WriteBytes(json, "key", r.Key);
        WriteBytes(json, "value", r.Payload);
        if (r.Headers is { Count: > 0 })
        {
            json.WriteStartArray("headers");
            foreach (var h in r.Headers)
            {
                json.WriteStartObject();
                json.WriteString("key", h.Key);
                WriteBytes(json, "value", h.Value);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        json.WriteEndObject();
    }

    private static void WriteBytes(Utf8JsonWriter json, string name, byte[]? bytes)
    {
        if (bytes is null)
        {
            json.WriteNull(name);
            return;
        }
        string? text;
        try
        {
            text = StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            text = null;
        }
        if (text is not null)
        {
            json.WriteString(name, text);
        }
        else
        {
            json.WriteBase64String(name, bytes);
            json.WriteString(name + "_encoding", "base64");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await _file.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
            _gate.Dispose();
        }
    }
}
