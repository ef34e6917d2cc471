using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Security;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>
/// Multichannel session binding (MS-SMB2 3.3.5.5.2, 3.3.5.5.3): a SESSION_SETUP with SMB2_SESSION_FLAG_BINDING on a
/// new connection authenticates the session's user again and adds the connection to the session as a channel with
/// its own signing key. The checks and their statuses follow the spec and Samba's smbd (smbtorture's
/// smb2.session.bind_negative_* tests): the session is found in the global table; a request that mixes signing
/// algorithms, dialects or ciphers with the session's is refused; the request must be signed with Session.SigningKey.
/// Every response of a binding is signed: with Session.SigningKey until the channel has its key, with the
/// channel's key for the final one.
/// </summary>
internal static partial class SessionSetupHandler
{
    private static NtStatus Bind(SmbConnection c, SmbRequest r, ReadOnlySpan<byte> message, ReadOnlySpan<byte> securityBuffer)
    {
        // The dispatcher found the session (in this connection's table or the global one) or failed with USER_SESSION_DELETED.
        var session = r.Session!;
        r.ResponseSessionId = session.Id;
        var status = CheckBinding(c, r, session);
        if (status != NtStatus.Success)
        {
            SmbLog.BindingRefused(c.Log, c.Id, session.Id, status.ToWireName());
            return status;
        }

        var channel = c.GetOrAddPendingBinding(session);
        channel.Auth ??= NewAuthContext(c);
        // 3.1.1: the binding's own preauth chain (PreauthSession), starting from this connection's negotiate hash.
        var hashing = c.Dialect == SmbDialect.Smb311;
        if (hashing) channel.PreauthHash = NegotiateHandler.Chain(channel.PreauthHash ?? c.PreauthHash!, message);

        status = channel.Auth.Step(securityBuffer, out var token);
        if (status == NtStatus.MoreProcessingRequired)
        {
            if (hashing) r.AfterResponse = resp => channel.PreauthHash = NegotiateHandler.Chain(channel.PreauthHash!, resp);
            WriteResponse(r, 0, token);
            return status;
        }

        c.RemovePendingBinding(session.Id);
        var result = channel.Auth.Result;
        channel.Auth = null;
        if (status != NtStatus.Success || result is null || result.Status != NtStatus.Success)
        {
            // The session itself is untouched; the response is still signed with its key.
            var failed = status == NtStatus.Success ? (result?.Status ?? NtStatus.LogonFailure) : status;
            SmbLog.SessionAuthFailed(c.Log, c.Id, session.Id, failed.ToWireName());
            return failed;
        }
        // MS-SMB2 3.3.5.5.3: a binding must authenticate the session's own user (Samba: the same SID, else ACCESS_DENIED).
        if (result.IsGuest || result.IsAnonymous || session.User is not { } user
            || !string.Equals(user.Name, result.UserName, StringComparison.OrdinalIgnoreCase))
        {
            SmbLog.BindingRefused(c.Log, c.Id, session.Id, NtStatus.AccessDenied.ToWireName());
            return NtStatus.AccessDenied;
        }
        if (result.SessionKey is not { Length: > 0 } key) return NtStatus.NotSupported;

        // Channel.SigningKey: from this authentication's key; on 3.1.1 with the binding's preauth hash as KDF context.
        channel.SigningKey = SmbSessionKeys.Derive(c.Dialect, key, hashing ? channel.PreauthHash : null).Signing;
        channel.PreauthHash = null;
        c.AddSession(session);
        if (!session.TryAddChannel(channel))
        {
            // Logged off (or its last channel gone) while this binding ran.
            c.RemoveSession(session.Id, out _);
            return NtStatus.UserSessionDeleted;
        }
        r.ForceSign = true;
        SmbLog.ChannelBound(c.Log, c.Id, session.Id, session.Channels.Count);
        WriteResponse(r, session.EncryptData ? SessionFlagEncryptData : (ushort)0, token);
        return NtStatus.Success;
    }

    /// <summary>The binding preconditions, in Samba's order (which the bind_negative_* tests observe).</summary>
    private static NtStatus CheckBinding(SmbConnection c, SmbRequest r, SmbSession session)
    {
        var origin = session.Connection;
        // 3.1.1 signing negotiation: a session signing with AES-GMAC binds only channels signing with it too, and a
        // channel that negotiated AES-GMAC only a session signing with it.
        if (origin.SigningAlgorithm >= SigningAlgorithm.AesGmac && c.SigningAlgorithm != origin.SigningAlgorithm)
            return NtStatus.RequestOutOfSequence;
        if (c.SigningAlgorithm >= SigningAlgorithm.AesGmac && c.SigningAlgorithm != origin.SigningAlgorithm)
            return NtStatus.NotSupported;
        // Binding is SMB 3.x only (the flag means nothing to 2.x).
        if (!SmbDialect.Is3x(c.Dialect)) return NtStatus.RequestNotAccepted;
        // "If the SMB2_FLAGS_SIGNED bit is not set ... STATUS_INVALID_PARAMETER" (a bad signature was refused already).
        if (!r.Header.IsSigned || !session.CanSign) return NtStatus.InvalidParameter;
        // "If Connection.Dialect is not the same as Session.Connection.Dialect ... STATUS_INVALID_PARAMETER"; the
        // cipher must match as well (the session's keys encrypt on every channel).
        if (c.Dialect != origin.Dialect || c.CipherId != origin.CipherId) return NtStatus.InvalidParameter;
        // "If there is a session in Connection.SessionTable identified by the SessionId ... STATUS_REQUEST_NOT_ACCEPTED".
        if (c.TryGetSession(session.Id, out _)) return NtStatus.RequestNotAccepted;
        // "If Session.State is InProgress ... STATUS_REQUEST_NOT_ACCEPTED" (Expired was answered by the dispatcher).
        if (session.State != SessionState.Valid) return NtStatus.RequestNotAccepted;
        // "If Session.IsAnonymous or Session.IsGuest is TRUE ... STATUS_NOT_SUPPORTED".
        if (session.IsGuest || session.IsAnonymous) return NtStatus.NotSupported;
        // Session.Connection.ClientGuid differing from Connection.ClientGuid MAY fail with USER_SESSION_DELETED; like
        // Windows (smbtorture's bind_negative_*d tests bind across client GUIDs) it does not here: the request is
        // signed with the session's key, which only its owner has.
        return NtStatus.Success;
    }
}
