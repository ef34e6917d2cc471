using System.Collections.Concurrent;

namespace CaStorage.Core.Metrics;

/// <summary>A monotonically increasing count.</summary>
public sealed class Counter
{
    private long _value;

    public long Value => Volatile.Read(ref _value);

    public void Increment() => Interlocked.Increment(ref _value);

    public void Add(long amount) => Interlocked.Add(ref _value, amount);
}

/// <summary>Counters of one name, one per combination of label values.</summary>
public sealed class CounterFamily(string name, string help, string[] labelNames) : MetricFamily(name, help, labelNames)
{
    private readonly ConcurrentDictionary<LabelValues, Counter> _children = new();

    public override MetricType Type => MetricType.Counter;

    /// <summary>The child for these label values (created on first use). Resolve it once, off the hot path.</summary>
    public Counter WithLabels(params string[] values) => _children.GetOrAdd(LabelValues.Of(LabelNames, values), static _ => new Counter());

    public IEnumerable<KeyValuePair<LabelValues, Counter>> Children => _children;
}

/// <summary>Label values of one child, compared by value.</summary>
public sealed class LabelValues : IEquatable<LabelValues>
{
    private readonly string[] _values;

    private LabelValues(string[] values) => _values = values;

    public IReadOnlyList<string> Values => _values;

    internal static LabelValues Of(IReadOnlyList<string> names, string[] values)
    {
        if (values.Length != names.Count) throw new ArgumentException($"expected {names.Count} label values, got {values.Length}");
        return new LabelValues((string[])values.Clone());
    }

    public bool Equals(LabelValues? other) => other is not null && _values.AsSpan().SequenceEqual(other._values);

    public override bool Equals(object? obj) => Equals(obj as LabelValues);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var v in _values) h.Add(v, StringComparer.Ordinal);
        return h.ToHashCode();
    }
}
