using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace StreamEnrich.Stages.Lookup;

/// <summary>
/// An insert-only map from UTF-8 byte strings to ints, for lookup tables. The bytes of every key are kept one after the
/// other in one array and the keys are found through one array of slots (open addressing, linear probing, at most half
/// full), so adding 100,000 keys allocates a handful of arrays rather than a string and an entry each, and a UTF-8 record
/// value is found without making a string of it. Keys are compared byte for byte (ordinal).
/// </summary>
/// <remarks>
/// Plain arrays and loops in this assembly on purpose: the code is precompiled (ReadyToRun), so a table loads at full
/// speed at start-up, where generic collections over these types would first run as unoptimized JIT code.
/// </remarks>
internal sealed class Utf8KeyIndex
{
    // Per process, so that which keys collide cannot be planned from outside.
    private static readonly ulong Seed = (ulong)Random.Shared.NextInt64() | 1;

    private byte[] _bytes;
    private int _bytesUsed;
    private int[] _starts;
    private int[] _lengths;
    private int[] _values;
    /// <summary>Per slot, the key's hash (high half) and its entry index + 1 (low half); 0 is empty. Probing compares
    /// hashes here and reads a key's bytes only when they match.</summary>
    private ulong[] _slots;
    private int _mask;

    public Utf8KeyIndex(int capacity = 16)
    {
        capacity = Math.Max(capacity, 4);
        _bytes = new byte[capacity * 8];
        _starts = new int[capacity];
        _lengths = new int[capacity];
        _values = new int[capacity];
        _slots = new ulong[(int)BitOperations.RoundUpToPowerOf2((uint)capacity * 2)];
        _mask = _slots.Length - 1;
    }

    /// <summary>The number of keys.</summary>
    public int Count { get; private set; }

    /// <summary>The array that holds the keys' bytes (replaced as it grows): key <c>i</c> (in insertion order) is
    /// <c>Bytes[KeyStart(i) .. KeyStart(i) + KeyLength(i)]</c>.</summary>
    public byte[] Bytes => _bytes;

    public int KeyStart(int entry) => _starts[entry];

    public int KeyLength(int entry) => _lengths[entry];

    /// <summary>The value of <paramref name="key"/>, or -1.</summary>
    public int Find(ReadOnlySpan<byte> key)
    {
        var entry = FindEntry(key, Hash(key));
        return entry < 0 ? -1 : _values[entry];
    }

    /// <summary>Adds <paramref name="key"/> with <paramref name="value"/>, or, if it is already there, returns false and
    /// its value in <paramref name="existing"/>. Returns the key's entry number (insertion order) in <paramref name="entry"/>.</summary>
    public bool TryAdd(ReadOnlySpan<byte> key, int value, out int existing, out int entry)
    {
        var hash = Hash(key);
        var found = FindEntry(key, hash);
        if (found >= 0)
        {
            existing = _values[found];
            entry = found;
            return false;
        }
        if ((Count + 1) * 2 > _slots.Length) Rehash(_slots.Length * 2);
        if (Count == _starts.Length) GrowEntries();
        if (_bytesUsed + key.Length > _bytes.Length)
        {
            Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, _bytesUsed + key.Length));
        }
        key.CopyTo(_bytes.AsSpan(_bytesUsed));
        entry = Count++;
        _starts[entry] = _bytesUsed;
        _lengths[entry] = key.Length;
        _values[entry] = value;
        _bytesUsed += key.Length;
        var slot = hash & _mask;
        while (_slots[slot] != 0) slot = (slot + 1) & _mask;
        _slots[slot] = SlotOf(hash, entry);
        existing = -1;
        return true;
    }

    /// <summary><paramref name="text"/> as UTF-8, in <paramref name="buffer"/> when it fits (else a new array).
    /// ASCII, the usual case of keys and lookup cells, is copied by a plain loop.</summary>
    public static ReadOnlySpan<byte> ToUtf8(ReadOnlySpan<char> text, Span<byte> buffer)
    {
        if (text.Length <= buffer.Length)
        {
            var i = 0;
            for (; i < text.Length; i++)
            {
                var c = text[i];
                if (c >= 0x80) break;
                buffer[i] = (byte)c;
            }
            if (i == text.Length) return buffer[..i];
            if (Encoding.UTF8.GetMaxByteCount(text.Length) <= buffer.Length) return buffer[..Encoding.UTF8.GetBytes(text, buffer)];
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private int FindEntry(ReadOnlySpan<byte> key, int hash)
    {
        var slot = hash & _mask;
        var tag = (ulong)(uint)hash << 32;
        while (true)
        {
            var s = _slots[slot];
            if (s == 0) return -1;
            if ((s & 0xFFFF_FFFF_0000_0000UL) == tag)
            {
                var e = (int)(uint)s - 1;
                if (_lengths[e] == key.Length && key.SequenceEqual(_bytes.AsSpan(_starts[e], key.Length))) return e;
            }
            slot = (slot + 1) & _mask;
        }
    }

    private static ulong SlotOf(int hash, int entry) => ((ulong)(uint)hash << 32) | (uint)(entry + 1);

    /// <summary>Moves every key to a slot array of <paramref name="size"/>; each slot carries its key's hash, so nothing
    /// is hashed again.</summary>
    private void Rehash(int size)
    {
        var slots = new ulong[size];
        var mask = size - 1;
        foreach (var s in _slots)
        {
            if (s == 0) continue;
            var slot = (int)(s >> 32) & mask;
            while (slots[slot] != 0) slot = (slot + 1) & mask;
            slots[slot] = s;
        }
        _slots = slots;
        _mask = mask;
    }

    private void GrowEntries()
    {
        var size = _starts.Length * 2;
        Array.Resize(ref _starts, size);
        Array.Resize(ref _lengths, size);
        Array.Resize(ref _values, size);
    }

    /// <summary>A 64-bit multiply-xorshift hash over 8-byte words, seeded; the slot is taken from its mixed bits.</summary>
    internal static int Hash(ReadOnlySpan<byte> key)
    {
        const ulong K = 0x9E3779B97F4A7C15UL;
        var h = Seed ^ ((ulong)key.Length * K);
        var i = 0;
        for (; i + 8 <= key.Length; i += 8)
        {
            h = (h ^ BinaryPrimitives.ReadUInt64LittleEndian(key[i..])) * K;
            h ^= h >> 29;
        }
        ulong tail = 0;
        for (var shift = 0; i < key.Length; i++, shift += 8) tail |= (ulong)key[i] << shift;
        h = (h ^ tail) * K;
        // murmur3's finalizer: every input bit reaches every output bit
        h ^= h >> 33;
        h *= 0xFF51AFD7ED558CCDUL;
        h ^= h >> 33;
        h *= 0xC4CEB9FE1A85EC53UL;
        h ^= h >> 33;
        return (int)h;
    }
}
