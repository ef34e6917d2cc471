namespace CaStorage.State;

/// <summary>A byte range lock or unlock request element (offset and length as the client sent them).</summary>
public readonly record struct LockRange(ulong Offset, ulong Length, bool Exclusive)
{
    /// <summary>MS-FSA 2.1.5.7: a range whose end passes 2^64 is invalid.</summary>
    public bool IsValid => Length == 0 || Offset + (Length - 1) >= Offset;
}

/// <summary>
/// LOCK's LockSequence (MS-SMB2 2.2.26): a number (low 4 bits) in one of 64 buckets (the next 28 bits, 1..64 valid).
/// </summary>
public readonly record struct LockSequence(int Bucket, byte Number)
{
    public const int Buckets = 64;

    /// <summary>The sequence a LOCK request carries, or null when its bucket is not one of 1..64 (replay detection off).</summary>
    public static LockSequence? From(uint raw)
    {
        var bucket = (int)(raw >> 4);
        return bucket is >= 1 and <= Buckets ? new LockSequence(bucket, (byte)(raw & 0xF)) : null;
    }
}

/// <summary>Lock overlap and conflict rules (MS-FSA 2.1.4.10 / Windows behaviour that smbtorture checks).</summary>
public static class LockRules
{
    /// <summary>
    /// Ranges overlap when they share a byte. A zero-length range holds no byte: it overlaps a range only when its
    /// offset lies strictly inside that range (so zero-length locks never conflict with each other).
    /// </summary>
    public static bool Overlaps(ulong aOff, ulong aLen, ulong bOff, ulong bLen)
    {
        if (aLen == 0 && bLen == 0) return false;
        if (aLen == 0) return aOff > bOff && aOff - bOff < bLen;
        if (bLen == 0) return bOff > aOff && bOff - aOff < aLen;
        var aEnd = aOff + aLen - 1;
        var bEnd = bOff + bLen - 1;
        return aOff <= bEnd && bOff <= aEnd;
    }

    /// <summary>Does a new lock conflict with a held one? Shared locks coexist; the owner may share inside its own exclusive lock.</summary>
    public static bool LockConflicts(bool heldExclusive, bool heldBySameOpen, LockRange request, ulong heldOff, ulong heldLen)
    {
        if (!Overlaps(request.Offset, request.Length, heldOff, heldLen)) return false;
        if (!heldExclusive && !request.Exclusive) return false;
        if (heldExclusive && !request.Exclusive && heldBySameOpen) return false;
        return true;
    }

    /// <summary>
    /// Does I/O conflict with a held lock? Reads are blocked by other opens' exclusive locks; writes by any other open's
    /// lock and by the writer's own shared locks (a shared lock makes the range read-only for everyone).
    /// </summary>
    public static bool IoConflicts(bool heldExclusive, bool heldBySameOpen, bool write, ulong off, ulong len, ulong heldOff, ulong heldLen)
    {
        if (len == 0 || !Overlaps(off, len, heldOff, heldLen)) return false;
        if (!write) return heldExclusive && !heldBySameOpen;
        return !heldBySameOpen || !heldExclusive;
    }
}
