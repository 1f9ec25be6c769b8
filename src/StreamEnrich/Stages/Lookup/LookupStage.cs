using System.Diagnostics;
using Microsoft.Extensions.Logging;
using StreamEnrich.Records;
using StreamEnrich.Stages.Cast;

namespace StreamEnrich.Stages.Lookup;

/// <summary>
/// Joins a record field against a keyed table from a CSV or JSON-lines file and copies the row's columns into
/// record fields. The table is immutable; with <c>reload</c> a changed file is loaded in the background and the
/// reference swapped, so <see cref="Process"/> never locks.
/// </summary>
internal sealed class LookupStage : IRecordStage, IOutputSchemaStage, IDisposable
{
    private readonly string[] _targetNames;
    private readonly string _stageName;
    private readonly string _fieldName;
    private readonly string _path;
    private readonly string _keyColumn;
    private readonly LookupFileFormat _format;
    private readonly string[] _columns;
    /// <summary>Per column, the type its values are converted to at load (null: as read).</summary>
    private readonly CastTarget?[] _types;
    private readonly int _keySlot;
    private readonly int[] _targets;
    private readonly Value[] _missValues;
    private readonly LookupMissBehavior _onMiss;
    private readonly ILogger _logger;
    private readonly ITimer? _timer;
    private LookupTable _table;
    private (DateTime Modified, long Size) _stamp;
    private int _reloading;

    public LookupStage(LookupStageOptions options, IStageBuildContext context)
    {
        _stageName = context.StageName;
        _fieldName = options.Field;
        _path = context.ResolvePath(options.File);
        _keyColumn = options.KeyColumn;
        _format = options.EffectiveFormat ?? throw new ArgumentException($"cannot tell the format of '{options.File}'; set format: csv or jsonl.", nameof(options));
        _columns = [.. options.Columns.Keys];
        _types = [.. _columns.Select(c => options.Types.TryGetValue(c, out var t)
            ? CastTarget.TryParse(t, out var target) ? target : throw new ArgumentException($"lookup column '{c}': unknown type '{t}'; use one of: {CastTarget.Accepted}.", nameof(options))
            : (CastTarget?)null)];
        _keySlot = context.Field(options.Field);
        _targets = [.. options.Columns.Values.Select(context.Field)];
        _targetNames = [.. options.Columns.Values];
        _onMiss = options.OnMiss;
        _missValues = new Value[_targets.Length];
        var i = 0;
        foreach (var target in options.Columns.Values)
        {
            _missValues[i++] = options.OnMiss == LookupMissBehavior.Default && options.Defaults.TryGetValue(target, out var d)
                ? StageValues.FromObject(d)
                : Value.Null;
        }
        _logger = context.Logger;
        _stamp = Stamp(_path);
        (_table, var ms) = LoadTable();
        _logger.LogInformation("lookup {Stage}: loaded {Rows} rows from {File} in {Ms:F0} ms", _stageName, _table.Count, _path, ms);
        if (options.Reload)
            _timer = context.Time.CreateTimer(static s => ((LookupStage)s!).ReloadIfChanged(), this, options.ReloadInterval, options.ReloadInterval);
    }

    /// <summary>Rows in the current table.</summary>
    public int RowCount => Volatile.Read(ref _table).Count;

    /// <summary>
    /// Each target field has its column's type from <c>types</c>, else String (CSV cells are text; JSON-lines values are
    /// typed per row, so String is the safe column; give the column a type when the file's values are not text).
    /// Nullable, except when every record that passes has the field set: on_miss drop or fail (untyped CSV columns, which
    /// are never null), or default with a non-null default for it.
    /// </summary>
    public void Apply(OutputSchema schema)
    {
        if (_format == LookupFileFormat.Jsonl && _types.Any(t => t is null))
            schema.Note($"lookup '{_stageName}': JSON-lines values without a type in `types` typed Nullable(String)");
        for (var i = 0; i < _targetNames.Length; i++)
        {
            var neverNull = _format == LookupFileFormat.Csv && _types[i] is null;
            var alwaysSet = _onMiss switch
            {
                LookupMissBehavior.Drop or LookupMissBehavior.Fail => neverNull,
                LookupMissBehavior.Default => neverNull && !_missValues[i].IsNullOrMissing,
                _ => false,
            };
            schema.Set(_targetNames[i], _types[i]?.ClickHouseType(null) ?? "String", !alwaysSet);
        }
    }

    public void Process(Record record)
    {
        var fields = record.Fields;
        var table = Volatile.Read(ref _table);
        var index = table.Find(fields[_keySlot]);
        if (index >= 0)
        {
            for (var i = 0; i < _targets.Length; i++) fields[_targets[i]] = table.Cell(index, i);
            return;
        }
        switch (_onMiss)
        {
            case LookupMissBehavior.Keep:
                return;
            case LookupMissBehavior.Null or LookupMissBehavior.Default:
                for (var i = 0; i < _targets.Length; i++) fields[_targets[i]] = _missValues[i];
                return;
            case LookupMissBehavior.Drop:
                record.Filter();
                return;
            default:
                record.Fail(_stageName, $"lookup '{_fieldName}': no row with key {StageValues.Describe(fields[_keySlot])} in column '{_keyColumn}' of {_path}; expected a key present in the file (or set on_miss).");
                return;
        }
    }

    /// <summary>Loads the file as configured; with how long it took, for the log (a slow start or reload points at a large file).</summary>
    private (LookupTable Table, double Ms) LoadTable()
    {
        var started = Stopwatch.GetTimestamp();
        var table = LookupTable.Load(_path, _format, _keyColumn, _columns, _types);
        return (table, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>
    /// Loads the file again when its modification time or size changed. Returns true when a new table was swapped in.
    /// A failed load keeps the current table and logs the error; the same file state is not retried until it changes again.
    /// </summary>
    internal bool ReloadIfChanged()
    {
        if (Interlocked.Exchange(ref _reloading, 1) == 1) return false;
        try
        {
            var stamp = Stamp(_path);
            if (stamp == _stamp) return false;
            _stamp = stamp;
            try
            {
                var (table, ms) = LoadTable();
                Volatile.Write(ref _table, table);
                _logger.LogInformation("lookup {Stage}: reloaded {Rows} rows from {File} in {Ms:F0} ms", _stageName, table.Count, _path, ms);
                return true;
            }
            catch (LookupLoadException e)
            {
                _logger.LogError("lookup {Stage}: reload failed, keeping the previous table ({Rows} rows): {Error}", _stageName, RowCount, e.Message);
                return false;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogError("lookup {Stage}: cannot check {File} for changes: {Error}", _stageName, _path, e.Message);
            return false;
        }
        finally
        {
            Volatile.Write(ref _reloading, 0);
        }
    }

    private static (DateTime, long) Stamp(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
    }

    public void Dispose() => _timer?.Dispose();
}
