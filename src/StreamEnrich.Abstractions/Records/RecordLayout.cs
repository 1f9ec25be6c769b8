using System.Text;

namespace StreamEnrich.Records;

/// <summary>
/// The fields a pipeline knows about and the slot each one lives in. Stages, decoders and sinks ask for
/// slots while the pipeline is built; after <see cref="Freeze"/> the layout is read-only and shared by all
/// records. Field names are paths: <c>user.id</c> names field <c>id</c> of the nested object <c>user</c>.
/// Names starting with <c>_</c> are Kafka metadata (see <see cref="MetadataFields"/>).
/// </summary>
public sealed class RecordLayout
{
    private readonly Dictionary<string, int> _slots = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];
    private readonly HashSet<string> _prefixes = new(StringComparer.Ordinal);
    private Utf8Index? _utf8;

    public bool IsFrozen { get; private set; }
    public int Count => _names.Count;
    public IReadOnlyList<string> Names => _names;

    /// <summary>The slot of <paramref name="path"/>, adding it if new (only before <see cref="Freeze"/>).</summary>
    public int Slot(string path)
    {
        if (_slots.TryGetValue(path, out var slot)) return slot;
        if (IsFrozen) throw new InvalidOperationException($"Field '{path}' was not declared while the pipeline was built.");
        slot = _names.Count;
        _names.Add(path);
        _slots.Add(path, slot);
        for (var i = path.IndexOf('.', StringComparison.Ordinal); i > 0; i = path.IndexOf('.', i + 1))
            _prefixes.Add(path[..i]);
        return slot;
    }

    public bool TryGetSlot(string path, out int slot) => _slots.TryGetValue(path, out slot);

    /// <summary>True when some declared field lives below <paramref name="path"/> (so a decoder must descend into it).</summary>
    public bool IsPrefix(string path) => _prefixes.Contains(path);

    public void Freeze()
    {
        IsFrozen = true;
        _utf8 = new Utf8Index(_names, _prefixes);
    }

    /// <summary>A byte-keyed index for decoders: looks up UTF-8 names without allocating strings.</summary>
    public Utf8Index Utf8 => _utf8 ?? throw new InvalidOperationException("Layout not frozen.");

    public Record NewRecord() => new(Count);

    /// <summary>Result codes of <see cref="Utf8Index.Find"/>.</summary>
    public const int NotFound = -1, PrefixOnly = -2;

    /// <summary>Open-addressing hash table over UTF-8 field paths.</summary>
    public sealed class Utf8Index
    {
        private readonly byte[][] _keys;
        private readonly int[] _values; // slot, or PrefixOnly
        private readonly bool[] _hasChildren;
        private readonly int _mask;

        internal Utf8Index(List<string> names, HashSet<string> prefixes)
        {
            var n = names.Count + prefixes.Count;
            var size = 8;
            while (size < n * 3) size <<= 1;
            _keys = new byte[size][];
            _values = new int[size];
            _hasChildren = new bool[size];
            _mask = size - 1;
            for (var i = 0; i < names.Count; i++) Add(Encoding.UTF8.GetBytes(names[i]), i, prefixes.Contains(names[i]));
            foreach (var p in prefixes)
            {
                var k = Encoding.UTF8.GetBytes(p);
                if (Find(k, out _) == NotFound) Add(k, PrefixOnly, true);
            }
        }

        private void Add(byte[] key, int value, bool hasChildren)
        {
            var i = (int)Hash(key) & _mask;
            while (_keys[i] != null) i = (i + 1) & _mask;
            _keys[i] = key;
            _values[i] = value;
            _hasChildren[i] = hasChildren;
        }

        /// <summary>
        /// The slot of the path, <see cref="PrefixOnly"/> if only nested fields below it are declared, else
        /// <see cref="NotFound"/>. <paramref name="hasChildren"/> tells whether declared fields live below the path.
        /// </summary>
        public int Find(ReadOnlySpan<byte> utf8Path, out bool hasChildren)
        {
            var i = (int)Hash(utf8Path) & _mask;
            while (true)
            {
                var k = _keys[i];
                if (k == null)
                {
                    hasChildren = false;
                    return NotFound;
                }
                if (utf8Path.SequenceEqual(k))
                {
                    hasChildren = _hasChildren[i];
                    return _values[i];
                }
                i = (i + 1) & _mask;
            }
        }

        public int Find(ReadOnlySpan<byte> utf8Path) => Find(utf8Path, out _);

        /// <summary>FNV-1a over the bytes.</summary>
        public static uint Hash(ReadOnlySpan<byte> s)
        {
            var h = 2166136261u;
            foreach (var b in s) h = (h ^ b) * 16777619u;
            return h;
        }
    }
}

/// <summary>Names of the Kafka metadata fields every decoder fills when a pipeline uses them.</summary>
public static class MetadataFields
{
    public const string Topic = "_topic";
    public const string Partition = "_partition";
    public const string Offset = "_offset";
    /// <summary>The Kafka message timestamp (a <see cref="ValueKind.Timestamp"/>).</summary>
    public const string Timestamp = "_timestamp";
    /// <summary>The message key as a UTF-8 string.</summary>
    public const string Key = "_key";
    /// <summary>Prefix of header fields: <c>_headers.trace-id</c> is the value of header <c>trace-id</c> as a string.</summary>
    public const string HeaderPrefix = "_headers.";

    public static bool IsMetadata(string path) => path.StartsWith('_');
}
