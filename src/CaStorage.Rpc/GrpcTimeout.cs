using System.Globalization;

namespace CaStorage.Rpc;

/// <summary>The grpc-timeout header: at most 8 ASCII digits and a unit (H, M, S, m, u, n).</summary>
public static class GrpcTimeout
{
    public static bool TryParse(string? value, out TimeSpan timeout)
    {
        timeout = default;
        if (string.IsNullOrEmpty(value) || value.Length < 2 || value.Length > 9) return false;
        if (!long.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return false;
        timeout = value[^1] switch
        {
            'H' => TimeSpan.FromHours(n),
            'M' => TimeSpan.FromMinutes(n),
            'S' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMilliseconds(n),
            'u' => TimeSpan.FromTicks(n * 10),
            'n' => TimeSpan.FromTicks(n / 100),
            _ => TimeSpan.MinValue,
        };
        return timeout != TimeSpan.MinValue;
    }

    /// <summary>Milliseconds, capped to the 8 digits the header allows.</summary>
    public static string Format(TimeSpan timeout)
    {
        var ms = Math.Clamp((long)Math.Ceiling(timeout.TotalMilliseconds), 1, 99_999_999);
        return ms.ToString(CultureInfo.InvariantCulture) + "m";
    }
}
