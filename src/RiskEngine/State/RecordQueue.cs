namespace RiskEngine.State;

/// <summary>
/// One channel's journal records held in memory, in sequence order, dropped from the front as they are published.
/// Reads by cursor (<see cref="Read"/>, <see cref="CountAfter"/>) cost what they return plus a binary search, never
/// the whole backlog; dropping the front moves a head index and compacts now and then, so publishing one record at a
/// time is not quadratic. Enumerates from the head. Not thread-safe: its owner locks.
/// </summary>
internal sealed class RecordQueue : IEnumerable<JournalRecord>
{
    private readonly List<JournalRecord> _items = [];
    private int _head;

    /// <summary>Records held.</summary>
    public int Count => _items.Count - _head;

    /// <summary>Adds a record; in sequence order (the usual case: sequences only grow) it is an append.</summary>
    public void Add(JournalRecord record)
    {
        if (Count == 0 || record.Sequence > _items[^1].Sequence)
        {
            _items.Add(record);
            return;
        }
        var at = After(record.Sequence - 1);
        if (at < _items.Count && _items[at].Sequence == record.Sequence) _items[at] = record;
        else _items.Insert(at, record);
    }

    /// <summary>Drops the records through <paramref name="sequence"/>.</summary>
    public void RemoveThrough(long sequence)
    {
        _head = After(sequence);
        if (_head == _items.Count)
        {
            Clear();
        }
        else if (_head >= 1024 && _head >= _items.Count / 2)
        {
            _items.RemoveRange(0, _head);
            _head = 0;
        }
    }

    /// <summary>Appends to <paramref name="into"/> up to <paramref name="limit"/> records after <paramref name="sequence"/>, in order.</summary>
    public void Read(long sequence, int limit, List<JournalRecord> into)
    {
        for (var i = After(sequence); i < _items.Count && limit > 0; i++, limit--) into.Add(_items[i]);
    }

    /// <summary>How many records come after <paramref name="sequence"/>.</summary>
    public int CountAfter(long sequence) => _items.Count - After(sequence);

    /// <summary>Every record held, in order.</summary>
    public IEnumerator<JournalRecord> GetEnumerator()
    {
        for (var i = _head; i < _items.Count; i++) yield return _items[i];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Drops everything.</summary>
    public void Clear()
    {
        _items.Clear();
        _head = 0;
    }

    /// <summary>The index of the first record after <paramref name="sequence"/> (binary search from the head).</summary>
    private int After(long sequence)
    {
        int lo = _head, hi = _items.Count;
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) >> 1);
            if (_items[mid].Sequence <= sequence) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
