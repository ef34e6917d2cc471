namespace CaStorage.Vfs.Posix;

/// <summary>Windows FILETIME (100 ns ticks since 1601-01-01 UTC) to and from Unix (seconds, nanoseconds).</summary>
internal static class FileTime
{
    public const long UnixEpoch = 116444736000000000L;
    private const long TicksPerSecond = 10_000_000L;

    public static long FromUnix(long seconds, long nanoseconds)
    {
        if (seconds > (long.MaxValue - UnixEpoch) / TicksPerSecond - 1) return long.MaxValue;
        var v = seconds * TicksPerSecond + nanoseconds / 100 + UnixEpoch;
        return v < 0 ? 0 : v;
    }

    public static (long Sec, long Nsec) ToUnix(long fileTime)
    {
        var t = fileTime - UnixEpoch;
        var sec = Math.DivRem(t, TicksPerSecond, out var rem);
        if (rem < 0) { sec--; rem += TicksPerSecond; }
        return (sec, rem * 100);
    }
}
