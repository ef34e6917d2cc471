using System.Globalization;
using System.Text;
using CaStorage.Core.Metrics;

namespace CaStorage.Admin;

/// <summary>
/// Writes a <see cref="MetricsRegistry"/> in the Prometheus text exposition format 0.0.4: "# HELP" and "# TYPE" per
/// family, one sample per line, histograms as cumulative _bucket{le=...} series with _sum and _count.
/// </summary>
public static class PrometheusTextFormat
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static string Write(MetricsRegistry registry)
    {
        var sb = new StringBuilder(4096);
        foreach (var family in registry.Families) Write(sb, family);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, MetricFamily family)
    {
        sb.Append("# HELP ").Append(family.Name).Append(' ').Append(EscapeHelp(family.Help)).Append('\n');
        sb.Append("# TYPE ").Append(family.Name).Append(' ').Append(family.Type switch
        {
            MetricType.Counter => "counter",
            MetricType.Histogram => "histogram",
            _ => "gauge",
        }).Append('\n');
        switch (family)
        {
            case CounterFamily counters:
                foreach (var (labels, counter) in counters.Children.OrderBy(c => string.Join('\0', c.Key.Values), StringComparer.Ordinal))
                    Sample(sb, family.Name, family.LabelNames, labels.Values, null, counter.Value);
                break;
            case HistogramFamily histograms:
                foreach (var (labels, histogram) in histograms.Children.OrderBy(c => string.Join('\0', c.Key.Values), StringComparer.Ordinal))
                {
                    var (counts, rawSum) = histogram.Snapshot();
                    long cumulative = 0;
                    for (var i = 0; i < counts.Length; i++)
                    {
                        cumulative += counts[i];
                        var le = i < histograms.Bounds.Count ? Number(histograms.Bounds[i]) : "+Inf";
                        Sample(sb, family.Name + "_bucket", family.LabelNames, labels.Values, ("le", le), cumulative);
                    }
                    Sample(sb, family.Name + "_sum", family.LabelNames, labels.Values, null, rawSum / histograms.RawPerUnit);
                    Sample(sb, family.Name + "_count", family.LabelNames, labels.Values, null, cumulative);
                }
                break;
            case GaugeFamily gauge:
                Sample(sb, family.Name, [], [], null, gauge.Read());
                break;
        }
    }

    private static void Sample(StringBuilder sb, string name, IReadOnlyList<string> labelNames, IReadOnlyList<string> labelValues,
        (string Name, string Value)? extra, double value)
    {
        sb.Append(name);
        if (labelNames.Count > 0 || extra is not null)
        {
            sb.Append('{');
            for (var i = 0; i < labelNames.Count; i++)
            {
                if (i > 0) sb.Append(',');
                sb.Append(labelNames[i]).Append("=\"").Append(EscapeLabel(labelValues[i])).Append('"');
            }
            if (extra is { } e)
            {
                if (labelNames.Count > 0) sb.Append(',');
                sb.Append(e.Name).Append("=\"").Append(e.Value).Append('"');
            }
            sb.Append('}');
        }
        sb.Append(' ').Append(Number(value)).Append('\n');
    }

    internal static string Number(double v) =>
        double.IsPositiveInfinity(v) ? "+Inf" : double.IsNegativeInfinity(v) ? "-Inf" : double.IsNaN(v) ? "NaN" : v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Label values escape backslash, double quote and line feed.</summary>
    internal static string EscapeLabel(string s) =>
        s.AsSpan().IndexOfAny("\\\"\n") < 0 ? s : s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>HELP text escapes backslash and line feed.</summary>
    private static string EscapeHelp(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
