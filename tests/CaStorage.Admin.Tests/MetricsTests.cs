using CaStorage.Core.Metrics;

namespace CaStorage.Admin.Tests;

public sealed class MetricsTests
{
    [Fact]
    public void Counter_WritesHelpTypeAndOneSamplePerLabelSet()
    {
        var registry = new MetricsRegistry();
        var family = registry.CreateCounter("x_requests_total", "Requests.", "command", "status");
        family.WithLabels("READ", "STATUS_SUCCESS").Add(3);
        family.WithLabels("READ", "STATUS_SUCCESS").Increment();
        family.WithLabels("CREATE", "STATUS_OBJECT_NAME_NOT_FOUND").Increment();
        Assert.Equal("""
            # HELP x_requests_total Requests.
            # TYPE x_requests_total counter
            x_requests_total{command="CREATE",status="STATUS_OBJECT_NAME_NOT_FOUND"} 1
            x_requests_total{command="READ",status="STATUS_SUCCESS"} 4

            """.Replace("\r", "", StringComparison.Ordinal), PrometheusTextFormat.Write(registry));
    }

    [Fact]
    public void Histogram_BucketsAreCumulative_WithSumAndCount()
    {
        var registry = new MetricsRegistry();
        // Raw unit: milliseconds; exported unit: seconds.
        var h = registry.CreateHistogram("x_seconds", "Latency.", [0.001, 0.01], 1000, "command").WithLabels("READ");
        h.Observe(1);    // exactly on the first bound: le="0.001"
        h.Observe(5);
        h.Observe(50);
        Assert.Equal("""
            # HELP x_seconds Latency.
            # TYPE x_seconds histogram
            x_seconds_bucket{command="READ",le="0.001"} 1
            x_seconds_bucket{command="READ",le="0.01"} 2
            x_seconds_bucket{command="READ",le="+Inf"} 3
            x_seconds_sum{command="READ"} 0.056
            x_seconds_count{command="READ"} 3

            """.Replace("\r", "", StringComparison.Ordinal), PrometheusTextFormat.Write(registry));
    }

    [Fact]
    public void Gauge_IsReadAtExport_AndLabelValuesAreEscaped()
    {
        var registry = new MetricsRegistry();
        var n = 1;
        registry.CreateGauge("x_open", "Open things.", () => n);
        registry.CreateCounter("x_total", "Escaping.", "path").WithLabels("a\\b\"c\nd").Increment();
        n = 7;
        var text = PrometheusTextFormat.Write(registry);
        Assert.Contains("\nx_open 7\n", text);
        Assert.Contains("x_total{path=\"a\\\\b\\\"c\\nd\"} 1\n", text);
    }

    [Fact]
    public void Registry_RefusesADuplicateName()
    {
        var registry = new MetricsRegistry();
        registry.CreateGauge("x", "x", () => 0);
        Assert.Throws<ArgumentException>(() => registry.CreateCounter("x", "x"));
    }

    [Fact]
    public void Counter_WrongLabelCount_Throws()
    {
        var family = new MetricsRegistry().CreateCounter("x_total", "x", "a");
        Assert.Throws<ArgumentException>(() => family.WithLabels("1", "2"));
    }
}
