using CaStorage.Core;

namespace CaStorage.State;

/// <summary>What a client asks of a file's coordination state when it opens it (typed; no wire types).</summary>
public sealed record OpenRequest
{
    public required FileKey File { get; init; }
    public required OpenId Open { get; init; }
    /// <summary>Granted access after generic mapping.</summary>
    public required AccessMask Access { get; init; }
    public required ShareAccess Share { get; init; }
    public bool IsDirectory { get; init; }
    /// <summary>FILE_DELETE_ON_CLOSE given at create: the file becomes delete-pending when this open closes.</summary>
    public bool DeleteOnClose { get; init; }
    /// <summary>Overwrite/supersede: needs write-compatible share modes of others even without write access.</summary>
    public bool Truncates { get; init; }
    /// <summary>Owner tag (the connection) to which break notifications for this open are routed.</summary>
    public string Owner { get; init; } = "";
    /// <summary>RequestedOplockLevel (<see cref="OplockLevel"/>); <see cref="OplockLevel.Lease"/> with <see cref="Lease"/>.</summary>
    public byte RequestedOplock { get; init; }
    public LeaseRequest? Lease { get; init; }
    /// <summary>DHnQ/DH2Q: the open may outlive its connection.</summary>
    public DurableRequest? Durable { get; init; }
}

public enum OpenOutcome { Granted, SharingViolation, DeletePending, AccessDenied, InvalidParameter }

public sealed record OpenDecision(OpenOutcome Outcome)
{
    public NtStatus Status => Outcome switch
    {
        OpenOutcome.Granted => NtStatus.Success,
        OpenOutcome.SharingViolation => NtStatus.SharingViolation,
        OpenOutcome.DeletePending => NtStatus.DeletePending,
        OpenOutcome.InvalidParameter => NtStatus.InvalidParameter,
        _ => NtStatus.AccessDenied,
    };
    public static readonly OpenDecision Granted = new(OpenOutcome.Granted);

    /// <summary>The oplock level granted (<see cref="OplockLevel.Lease"/> when a lease was granted).</summary>
    public byte Oplock { get; init; }
    public LeaseGrant? Lease { get; init; }
    /// <summary>Set when the open was made durable or persistent.</summary>
    public DurableGrant? Durable { get; init; }
}

/// <remarks>When DeleteNow, the caller removes the file, then reports <see cref="IFileStateService.FileDeletedAsync"/>.</remarks>
/// <summary>Result of closing an open; <paramref name="Lease"/> is the lease the open held, if any.</summary>
public readonly record struct CloseOutcome(bool DeleteNow, bool WasLast, LeaseId? Lease = null);
