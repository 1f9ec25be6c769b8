using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace StreamEnrich.Configuration.Yaml;

/// <summary>
/// Reads one YAML document into <see cref="ConfigNode"/>s with YamlDotNet's event parser, keeping each node's
/// position (YamlDotNet marks are 1-based for both line and column), resolving anchors/aliases and <c>&lt;&lt;</c>
/// merge keys, and substituting <c>${VAR}</c> in scalar values. Syntax errors become <see cref="ConfigError"/>s
/// at the position YamlDotNet reports.
/// </summary>
internal static partial class YamlDocumentReader
{
    private const string StrTag = "tag:yaml.org,2002:str";

    /// <summary>
    /// Parses <paramref name="text"/>. Returns the root node, or null when the file has no document (empty or
    /// comments only) or a syntax error was found; all problems are added to <paramref name="errors"/>.
    /// </summary>
    public static ConfigNode? Read(string text, string file, Func<string, string?> env, List<ConfigError> errors)
    {
        var state = new State(file, env, errors);
        var tracking = new TrackingParser(new Parser(new StringReader(text)));
        try
        {
            var parser = new MergingParser(tracking);
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
                return null;
            parser.Consume<DocumentStart>();
            var root = state.ReadNode(parser, isKey: false);
            parser.Consume<DocumentEnd>();
            if (parser.Accept<DocumentStart>(out var second))
            {
                errors.Add(new ConfigError(state.At(second.Start),
                    "a pipeline file holds one YAML document, this is a second one (after '---')",
                    "Put each pipeline in its own file."));
            }
            return root;
        }
        catch (YamlException e)
        {
            errors.Add(new ConfigError(file, (int)e.Start.Line, (int)e.Start.Column, "invalid YAML: " + StripMarks(e.Message), SyntaxHint(e.Message)));
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet 16.3 throws this instead of a YamlException for some malformed flow collections
            // (e.g. "b: [1, 2" followed by "c: 3"): report it after the last well-formed node.
            var at = tracking.LastEnd;
            errors.Add(new ConfigError(file, (int)at.Line, (int)at.Column, "invalid YAML: the document could not be parsed after this point",
                "Look for an unclosed '[', '{' or quote on this or the following lines."));
            return null;
        }
    }

    /// <summary>Remembers where the last parsed event ended, for errors YamlDotNet reports without a position.</summary>
    private sealed class TrackingParser(IParser inner) : IParser
    {
        public Mark LastEnd { get; private set; } = Mark.Empty;
        public ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            var moved = inner.MoveNext();
            if (moved && inner.Current is { } e)
                LastEnd = e.End;
            return moved;
        }
    }

    private static string StripMarks(string message) => MarkPrefix().Replace(message, "").Trim();

    private static string? SyntaxHint(string message)
    {
        if (message.Contains("tab", StringComparison.OrdinalIgnoreCase))
            return "YAML does not allow tabs for indentation; indent with spaces.";
        if (message.Contains("found character that cannot start any token", StringComparison.OrdinalIgnoreCase))
            return "A tab in indentation or a value starting with '@', '`' or '%'? Indent with spaces and quote such values.";
        if (message.Contains("did not find expected ','", StringComparison.OrdinalIgnoreCase))
            return "Inside [ ] or { }, quote values that contain ${VAR}, ',', '[', ']', '{' or '}'; and check the brackets are closed.";
        if (message.Contains("mapping values are not allowed", StringComparison.OrdinalIgnoreCase))
            return "A ':' followed by a space inside a plain value starts a mapping; quote the value, or check the indentation of the line above.";
        if (message.Contains("block mapping", StringComparison.OrdinalIgnoreCase) || message.Contains("indentation", StringComparison.OrdinalIgnoreCase))
            return "Check the indentation: keys of one mapping must line up, and must be indented with spaces.";
        return null;
    }

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\):\s*")]
    private static partial Regex MarkPrefix();

    private sealed class State(string file, Func<string, string?> env, List<ConfigError> errors)
    {
        private readonly Dictionary<string, ConfigNode> _anchors = new(StringComparer.Ordinal);

        public SourceLocation At(Mark mark) => new(file, (int)mark.Line, (int)mark.Column);

        public ConfigNode ReadNode(IParser parser, bool isKey)
        {
            if (parser.TryConsume<AnchorAlias>(out var alias))
            {
                if (_anchors.TryGetValue(alias.Value.Value, out var target))
                    return target;
                throw new YamlException(alias.Start, alias.End, $"alias *{alias.Value} refers to no anchor defined before it");
            }

            if (parser.TryConsume<Scalar>(out var scalar))
            {
                var plain = scalar.Style == ScalarStyle.Plain && scalar.Tag.IsEmpty;
                var quotedByTag = !scalar.Tag.IsEmpty && scalar.Tag.Value == StrTag;
                var at = At(scalar.Start);
                var value = scalar.Value;
                if (!isKey)
                {
                    var substituted = EnvironmentSubstitution.Substitute(value, env, out var error, out var hint);
                    if (substituted is null)
                        errors.Add(new ConfigError(at, error!, hint));
                    value = substituted ?? value;
                }
                // `${VAR:-}` that came out empty is an empty string, not YAML's "nothing".
                var emptiedBySubstitution = value.Length == 0 && scalar.Value.Length > 0;
                var node = new ConfigScalar(at, value, plain && !quotedByTag && !emptiedBySubstitution);
                Remember(scalar.Anchor, node);
                return node;
            }

            if (parser.TryConsume<SequenceStart>(out var seqStart))
            {
                var seq = new ConfigSequence(At(seqStart.Start));
                Remember(seqStart.Anchor, seq);
                while (!parser.TryConsume<SequenceEnd>(out _))
                    seq.Items.Add(ReadNode(parser, isKey: false));
                return seq;
            }

            if (parser.TryConsume<MappingStart>(out var mapStart))
            {
                var map = new ConfigMapping(At(mapStart.Start));
                Remember(mapStart.Anchor, map);
                while (!parser.TryConsume<MappingEnd>(out _))
                {
                    var keyNode = ReadNode(parser, isKey: true);
                    var value = ReadNode(parser, isKey: false);
                    if (keyNode is ConfigScalar key)
                        map.Entries.Add(new(key, value));
                    else
                        errors.Add(new ConfigError(keyNode.Location, $"a mapping key must be a plain name, got {keyNode.Describe()}",
                            "Keys are names like `max_rows`; a '?' or a '[' / '{' at the start of a key makes it complex."));
                }
                return map;
            }

            var unexpected = parser.Current!;
            throw new YamlException(unexpected.Start, unexpected.End, $"unexpected {unexpected.GetType().Name}");
        }

        private void Remember(AnchorName anchor, ConfigNode node)
        {
            if (!anchor.IsEmpty)
                _anchors[anchor.Value] = node;
        }
    }
}
