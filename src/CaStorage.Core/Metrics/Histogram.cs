using System.Collections.Concurrent;

namespace CaStorage.Core.Metrics;

/// <summary>
/// Counts observations into fixed buckets. Observations are integers in a raw unit (e.g. Stopwatch ticks), so the
/// sum is an interlocked add too; the exporter scales raw values to the exported unit.
/// </summary>
public sealed class Histogram
{
    private readonly long[] _rawBounds;
    private readonly long[] _counts; // per bucket, not cumulative; the last is +Inf
    private long _sum;

    internal Histogram(long[] rawBounds)
    {
        _rawBounds = rawBounds;
        _counts = new long[rawBounds.Length + 1];
    }

    public void Observe(long raw)
    {
        var i = Array.BinarySearch(_rawBounds, raw);
        if (i < 0) i = ~i; // first bound above raw; a value equal to a bound belongs to that bucket (le)
        Interlocked.Increment(ref _counts[i]);
        Interlocked.Add(ref _sum, raw);
    }

    /// <summary>Per-bucket counts (not cumulative), +Inf last, and the raw sum. Not an atomic snapshot across buckets.</summary>
    public (long[] Counts, long RawSum) Snapshot()
    {
        var counts = new long[_counts.Length];
        for (var i = 0; i < counts.Length; i++) counts[i] = Volatile.Read(ref _counts[i]);
        return (counts, Volatile.Read(ref _sum));
    }
}

public sealed class HistogramFamily : MetricFamily
{
    private readonly ConcurrentDictionary<LabelValues, Histogram> _children = new();
    private readonly long[] _rawBounds;

    internal HistogramFamily(string name, string help, double[] bounds, double rawPerUnit, string[] labelNames) : base(name, help, labelNames)
    {
        if (bounds.Length == 0 || bounds.Zip(bounds.Skip(1)).Any(p => p.First >= p.Second))
            throw new ArgumentException("histogram bounds must be ascending and not empty", nameof(bounds));
        Bounds = bounds;
        RawPerUnit = rawPerUnit;
        _rawBounds = bounds.Select(b => (long)Math.Round(b * rawPerUnit)).ToArray();
    }

    public override MetricType Type => MetricType.Histogram;

    /// <summary>Bucket upper bounds in the exported unit.</summary>
    public IReadOnlyList<double> Bounds { get; }

    public double RawPerUnit { get; }

    public Histogram WithLabels(params string[] values) => _children.GetOrAdd(LabelValues.Of(LabelNames, values), _ => new Histogram(_rawBounds));

    public IEnumerable<KeyValuePair<LabelValues, Histogram>> Children => _children;
}

/// <summary>A value read when exporting: a gauge, or a cumulative count kept by its owner (exported as a counter).</summary>
public sealed class GaugeFamily(string name, string help, Func<double> read, bool cumulative) : MetricFamily(name, help, [])
{
    public override MetricType Type => cumulative ? MetricType.Counter : MetricType.Gauge;

    public double Read() => read();
}
