using CaStorage.Core;
using CaStorage.Smb.Protocol;

namespace CaStorage.Smb.Server;

/// <summary>One command of a (possibly compound) request frame, and where its response is being written.</summary>
internal sealed class SmbRequest
{
    public SmbHeader Header;
    /// <summary>This command's bytes from its header to the next command (or the frame end).</summary>
    public required ReadOnlyMemory<byte> Message { get; init; }
    public required ResponseBuffer Out { get; init; }
    /// <summary>Offset in <see cref="Out"/> of this response's header.</summary>
    public required int ResponseStart { get; init; }
    public SmbSession? Session { get; set; }
    public SmbTreeConnect? Tree { get; set; }
    /// <summary>The FileId a related compound request inherits (set by CREATE, used for 0xFF..FF FileIds).</summary>
    public required CompoundState Compound { get; init; }
    /// <summary>Response header fields a handler may set (e.g. SESSION_SETUP's new SessionId, TREE_CONNECT's TreeId).</summary>
    public ulong ResponseSessionId { get; set; }
    public uint ResponseTreeId { get; set; }
    /// <summary>Extra error data (MS-SMB2 2.2.2 ErrorData) for an error response.</summary>
    public byte[]? ErrorData { get; set; }

    /// <summary>Credits this request was charged (1 before multi-credit is negotiated).</summary>
    public ushort Charge { get; set; } = 1;
    /// <summary>Sign the response even if the request was unsigned (final SESSION_SETUP of 3.1.1).</summary>
    public bool ForceSign { get; set; }
    /// <summary>Never sign (the request failed signature checks).</summary>
    public bool NoSign { get; set; }
    /// <summary>
    /// A session of another connection this request named (not bound here): its USER_SESSION_DELETED answer is signed
    /// with Session.SigningKey, as a client that requires signing accepts no unsigned answer (Samba signs it too).
    /// </summary>
    public SmbSession? UnboundSession { get; set; }
    /// <summary>Sign the response with Session.SigningKey rather than this connection's channel key.</summary>
    public bool SignWithSessionKey { get; set; }
    /// <summary>Called with the finished (unsigned) response message: preauth integrity hashing.</summary>
    public SpanAction? AfterResponse { get; set; }

    /// <summary>The session whose key decrypted this request (Request.IsEncrypted); null for a plain request.</summary>
    public SmbSession? EncryptedBy { get; init; }
    public bool IsEncrypted => EncryptedBy is not null;

    public ReadOnlySpan<byte> Span => Message.Span;

    /// <summary>The open whose channel sequence counts this request (left when the request completes).</summary>
    public SmbOpen? SequencedOpen { get; set; }

    /// <summary>Set by <see cref="GoAsync"/>: the rest of the work, run after the interim STATUS_PENDING response.</summary>
    public AsyncWork? AsyncContinuation { get; private set; }

    /// <summary>Set by the dispatcher when the request went asynchronous: starts its work, once the interim response is queued.</summary>
    public Action? StartAsyncWork { get; set; }

    /// <summary>
    /// Turns this request asynchronous (MS-SMB2 3.3.4.2): the server answers STATUS_PENDING with an AsyncId now and
    /// runs <paramref name="work"/> in the background, which writes the final body and returns its status. The work
    /// must not touch <see cref="Message"/> (the request buffer is reused): capture what it needs first.
    /// </summary>
    public NtStatus GoAsync(AsyncWork work)
    {
        AsyncContinuation = work;
        return NtStatus.Pending;
    }

    /// <summary>Offset in <see cref="Out"/> where this response's body starts (offsets in the body are relative to ResponseStart).</summary>
    public int BodyStart => ResponseStart + SmbHeader.Size;
}

internal delegate void SpanAction(ReadOnlySpan<byte> response);

/// <summary>The asynchronous remainder of a request: writes the final response body into the buffer.</summary>
internal delegate ValueTask<NtStatus> AsyncWork(ResponseBuffer body, CancellationToken cancellation);

internal sealed class CompoundState
{
    public SmbOpen? LastOpen { get; set; }
    public NtStatus LastStatus { get; set; }
    public ulong SessionId { get; set; }
    public uint TreeId { get; set; }
    /// <summary>A request of this frame has been seen (a related first request is invalid).</summary>
    public bool Started { get; set; }
    /// <summary>The previous request resolved its session: related requests may inherit it.</summary>
    public bool SessionValid { get; set; }
    /// <summary>The session whose key encrypts the whole compound response, once any response must be encrypted.</summary>
    public SmbSession? EncryptWith { get; set; }
}
