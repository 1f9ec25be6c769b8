using System.Globalization;

namespace StreamEnrich.Cli;

/// <summary>Parsed arguments of one command: positionals and <c>--name value</c> / <c>--flag</c> options.</summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public CommandLine(string command, IEnumerable<string> args, IReadOnlySet<string> flags)
    {
        Command = command;
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var a = list[i];
            if (a == "--") { Positionals.AddRange(list.Skip(i + 1)); break; }
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                var name = a[2..];
                var eq = name.IndexOf('=', StringComparison.Ordinal);
                if (eq >= 0) _options[name[..eq]] = name[(eq + 1)..];
                else if (flags.Contains(name)) _options[name] = null;
                else if (i + 1 < list.Count) _options[name] = list[++i];
                else throw new UsageException($"option --{name} needs a value");
            }
            else Positionals.Add(a);
        }
    }

    public string Command { get; }
    public List<string> Positionals { get; } = [];

    public bool Flag(string name)
    {
        _read.Add(name);
        return _options.ContainsKey(name);
    }

    public string? Option(string name)
    {
        _read.Add(name);
        return _options.TryGetValue(name, out var v) ? v : null;
    }

    public long LongOption(string name, long fallback)
    {
        var v = Option(name);
        if (v is null) return fallback;
        return long.TryParse(v.Replace("_", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            ? n : throw new UsageException($"--{name} expects a whole number, got '{v}'");
    }

    public TimeSpan DurationOption(string name, TimeSpan fallback)
    {
        var v = Option(name);
        if (v is null) return fallback;
        return Configuration.ValueParsers.TryParseDuration(v, out var d) ? d : throw new UsageException($"--{name} expects a duration like 10s or 500ms, got '{v}'");
    }

    /// <summary>Fails on options the command did not read (typos should not pass silently).</summary>
    public void EnsureAllUsed()
    {
        var unknown = _options.Keys.Where(k => !_read.Contains(k)).ToList();
        if (unknown.Count > 0) throw new UsageException($"unknown option{(unknown.Count > 1 ? "s" : "")} for '{Command}': {string.Join(", ", unknown.Select(u => "--" + u))}");
    }
}

/// <summary>Bad command-line usage; printed with the command's help, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>A command failed for a reason its message names in full (exit code 1, no stack trace: not a bug).</summary>
internal sealed class CommandFailedException(string message) : Exception(message);
