namespace CaStorage.Core.Metrics;

/// <summary>
/// A small registry of counters, histograms and read-at-scrape gauges. The hot path touches only
/// <see cref="Counter"/> and <see cref="Histogram"/> children resolved beforehand: one or two interlocked adds, no
/// allocation, no lock. Families are kept in creation order, which is the order an exporter writes them in.
/// Names follow Prometheus conventions (snake_case, counters end in _total, units in the name).
/// </summary>
public sealed class MetricsRegistry
{
    private readonly Lock _lock = new();
    private MetricFamily[] _families = [];

    public IReadOnlyList<MetricFamily> Families => Volatile.Read(ref _families);

    public CounterFamily CreateCounter(string name, string help, params string[] labelNames) => Add(new CounterFamily(name, help, labelNames));

    /// <param name="bounds">Upper bounds of the buckets in the exported unit (e.g. seconds), ascending; +Inf is implied.</param>
    /// <param name="rawPerUnit">How many raw units (what <see cref="Histogram.Observe"/> takes) make one exported unit.</param>
    public HistogramFamily CreateHistogram(string name, string help, double[] bounds, double rawPerUnit, params string[] labelNames) =>
        Add(new HistogramFamily(name, help, bounds, rawPerUnit, labelNames));

    /// <summary>A gauge read when metrics are exported (counts of live objects: sessions, opens).</summary>
    public GaugeFamily CreateGauge(string name, string help, Func<double> read) => Add(new GaugeFamily(name, help, read, cumulative: false));

    /// <summary>A counter kept elsewhere (a component's own cumulative count), read when metrics are exported.</summary>
    public GaugeFamily CreateCounter(string name, string help, Func<double> read) => Add(new GaugeFamily(name, help, read, cumulative: true));

    private T Add<T>(T family) where T : MetricFamily
    {
        lock (_lock)
        {
            if (_families.Any(f => f.Name == family.Name)) throw new ArgumentException($"metric {family.Name} exists already");
            _families = [.. _families, family];
        }
        return family;
    }
}

public enum MetricType { Counter, Gauge, Histogram }

public abstract class MetricFamily(string name, string help, string[] labelNames)
{
    public string Name { get; } = name;
    public string Help { get; } = help;
    public IReadOnlyList<string> LabelNames { get; } = labelNames;
    public abstract MetricType Type { get; }
}
