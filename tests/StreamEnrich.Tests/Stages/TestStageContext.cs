using System.Text;
using Microsoft.Extensions.Logging;
using StreamEnrich.Configuration;
using StreamEnrich.Records;
using StreamEnrich.Stages;
using Record = StreamEnrich.Records.Record;

namespace StreamEnrich.Tests.Stages;

/// <summary>A build context over a real <see cref="RecordLayout"/>, with a logger that keeps what was logged.</summary>
internal sealed class TestStageContext(string stageName = "test-stage", string? baseDirectory = null) : IStageBuildContext
{
    private readonly RecordLayout _layout = new();

    public RecordLayout RecordLayout => _layout;
    public RecordLayout? Layout => _layout;
    public int Field(string path) => _layout.Slot(path);
    public string PipelineName => "test-pipeline";
    public string StageName { get; } = stageName;
    public string ResolvePath(string path) => Path.IsPathRooted(path) ? path : Path.Combine(baseDirectory ?? Directory.GetCurrentDirectory(), path);
    public CapturingLogger Log { get; } = new();
    public ILogger Logger => Log;
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Validates <paramref name="options"/> (throws with the messages when invalid) and builds the stage through its registered spec.</summary>
    public T Build<T>(string type, object options)
    {
        var errors = Validate(options);
        if (errors.Count > 0) throw new InvalidOperationException("invalid options: " + string.Join("; ", errors.Select(e => e.Message)));
        var spec = BuiltInStages.All.Single(s => s.Type == type);
        Assert.Equal(spec.OptionsType, options.GetType());
        return (T)spec.Factory(options, this);
    }

    public IRecordStage Build(string type, object options) => Build<IRecordStage>(type, options);

    public static IReadOnlyList<OptionError> Validate(object options)
    {
        var context = new OptionsValidationContext();
        ((IValidatableOptions)options).Validate(context);
        return context.Errors;
    }

    /// <summary>A record with the given field values; declares the fields and freezes the layout.</summary>
    public Record NewRecord(params (string Field, Value Value)[] values)
    {
        foreach (var (f, _) in values) _layout.Slot(f);
        if (!_layout.IsFrozen) _layout.Freeze();
        var record = _layout.NewRecord();
        foreach (var (f, v) in values) record[_layout.Slot(f)] = v;
        return record;
    }

    public Value Get(Record record, string path) => record[_layout.Slot(path)];

    /// <summary>A string value stored as UTF-8 bytes, as decoders produce it.</summary>
    public static Value Utf8(string text)
    {
        var bytes = Encoding.UTF8.GetBytes("xx" + text + "yy");
        return Value.FromUtf8(bytes, 2, bytes.Length - 4);
    }
}

internal sealed class CapturingLogger : ILogger
{
    private readonly List<string> _messages = [];

    public IReadOnlyList<string> Messages
    {
        get
        {
            lock (_messages) return [.. _messages];
        }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_messages) _messages.Add($"{logLevel}: {formatter(state, exception)}");
    }
}
