using System.Security.Cryptography;
using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Security;
using CaStorage.Vfs;

namespace CaStorage.Smb.Server.Handlers;

/// <summary>MS-SMB2 2.2.5/2.2.6 SESSION_SETUP (3.3.5.5) and 2.2.7 LOGOFF (3.3.5.6).</summary>
internal static partial class SessionSetupHandler
{
    /// <summary>SMB2_SESSION_FLAG_BINDING (MS-SMB2 2.2.5).</summary>
    internal const byte FlagBinding = 0x01;
    private const ushort SessionFlagIsGuest = 0x1, SessionFlagIsNull = 0x2, SessionFlagEncryptData = 0x4;

    /// <summary>
    /// Request: StructureSize(25) Flags SecurityMode Capabilities Channel SecurityBufferOffset SecurityBufferLength
    /// PreviousSessionId Buffer.
    /// </summary>
    public static async ValueTask<NtStatus> HandleAsync(SmbConnection c, SmbRequest r)
    {
        var (status, previous, logoffOnFailure) = Step(c, r);
        // MS-SMB2 3.3.5.5.3: a failed re-authentication ends the session.
        if (logoffOnFailure is { } failed) await c.LogoffSessionAsync(failed).ConfigureAwait(false);
        // PreviousSessionId: the same user's earlier session (after a reconnect) is torn down; its durable opens stay,
        // disconnected, for this session to reclaim.
        if (status == NtStatus.Success && previous != 0 && previous != r.Session?.Id)
        {
            if (c.Server.TryGetSession(previous, out var old))
            {
                if (old.User?.Name is { } oldUser && string.Equals(oldUser, r.Session?.User?.Name, StringComparison.OrdinalIgnoreCase))
                    await old.Connection.LogoffSessionAsync(old).ConfigureAwait(false);
            }
            else if (c.Server.EndRemoteSession is { } endRemote && r.Session?.User?.Name is { } user)
            {
                // The old session may be on another node of the cluster (the client came back through the front).
                await endRemote(previous, user).ConfigureAwait(false);
            }
        }
        return status;
    }

    private static (NtStatus Status, ulong Previous, SmbSession? LogoffOnFailure) Step(SmbConnection c, SmbRequest r)
    {
        var m = r.Span;
        const int b = SmbHeader.Size;
        SmbReader.TryU8(m, b + 2, out var flags);
        SmbReader.TryU8(m, b + 3, out var securityMode);
        SmbReader.TryU16(m, b + 12, out var secOff);
        SmbReader.TryU16(m, b + 14, out var secLen);
        SmbReader.TryU64(m, b + 16, out var previousSessionId);
        if (!SmbReader.TrySlice(m, secOff, secLen, out var secStart)) return (NtStatus.InvalidParameter, 0, null);
        // MS-SMB2 3.3.5.5: with a SessionId, SMB2_SESSION_FLAG_BINDING asks to bind this connection to the session
        // (SessionId zero is a new authentication whatever the flags say). Without multichannel, 3.x refuses.
        if ((flags & FlagBinding) != 0 && r.Header.SessionId != 0)
        {
            if (c.Server.Settings.MultiChannel) return (Bind(c, r, m, m.Slice(secStart, secLen)), 0, null);
            if (c.Dialect >= SmbDialect.Smb300) return (NtStatus.RequestNotAccepted, 0, null);
        }
        // MS-SMB2 3.3.5.5 steps 1-2: with encryption required (EncryptData and RejectUnencryptedAccess), a client that
        // cannot encrypt (2.x dialect, no SMB2_GLOBAL_CAP_ENCRYPTION, no common 3.1.1 cipher) is refused.
        var encryptionMode = c.Server.Settings.Encryption;
        if (encryptionMode == SmbEncryptionMode.Required && c.CipherId == SmbCipher.None) return (NtStatus.AccessDenied, 0, null);

        var session = r.Session;
        var isNew = false;
        var reauth = false;
        if (session is null)
        {
            session = NewSession(c);
            r.Session = session;
            isNew = true;
        }
        else if (session.State == SessionState.Valid)
        {
            reauth = true;
        }
        session.Auth ??= NewAuthContext(c);

        var hashing = c.Dialect == SmbDialect.Smb311 && !reauth;
        if (hashing) session.PreauthHash = NegotiateHandler.Chain(session.PreauthHash ?? c.PreauthHash!, m);

        var status = session.Auth.Step(m.Slice(secStart, secLen), out var token);
        if (status == NtStatus.MoreProcessingRequired)
        {
            if (hashing) r.AfterResponse = resp => session.PreauthHash = NegotiateHandler.Chain(session.PreauthHash!, resp);
            WriteResponse(r, 0, token);
            r.ResponseSessionId = session.Id;
            return (status, 0, null);
        }

        var result = session.Auth.Result;
        session.Auth = null;
        if (status != NtStatus.Success || result is null || result.Status != NtStatus.Success)
        {
            var failed = status == NtStatus.Success ? (result?.Status ?? NtStatus.LogonFailure) : status;
            SmbLog.SessionAuthFailed(c.Log, c.Id, session.Id, failed.ToWireName());
            SmbSession? logoff = null;
            r.ResponseSessionId = session.Id;
            if (isNew || session.State == SessionState.InProgress)
            {
                c.RemoveSession(session.Id, out _);
                c.Server.UnregisterSession(session);
            }
            else if (reauth)
            {
                logoff = session;
            }
            // A failed re-authentication is still answered signed, as the client expects of an established session.
            if (!reauth) r.Session = null;
            r.ResponseSessionId = session.Id;
            return (failed, 0, logoff);
        }

        if (!reauth && encryptionMode == SmbEncryptionMode.Required && (result.IsGuest || result.IsAnonymous))
        {
            // Guest and anonymous sessions have no keys to encrypt with (Samba: "reject guest session as encryption is required").
            c.RemoveSession(session.Id, out _);
            c.Server.UnregisterSession(session);
            r.Session = null;
            r.ResponseSessionId = session.Id;
            return (NtStatus.AccessDenied, 0, null);
        }

        session.User = new VfsUser(result.UserName, result.DomainName, result.IsGuest, result.IsAnonymous)
        {
            Token = c.Server.Settings.Identities.TokenFor(result.UserName, result.IsGuest, result.IsAnonymous),
        };
        session.IsGuest = result.IsGuest;
        session.IsAnonymous = result.IsAnonymous;
        if (!reauth)
        {
            if (!result.IsGuest && !result.IsAnonymous && result.SessionKey is { Length: > 0 } key)
            {
                var sessionKey = new byte[16];
                key.AsSpan(0, Math.Min(16, key.Length)).CopyTo(sessionKey);
                session.SessionKey = sessionKey;
                var keys = SmbSessionKeys.Derive(c.Dialect, key, hashing ? session.PreauthHash : null, c.CipherId);
                session.SigningKey = keys.Signing;
                // MS-SMB2 3.3.5.5.3: Session.EncryptionKey (ServerOut) and Session.DecryptionKey (ServerIn).
                if (c.CipherId != SmbCipher.None && keys.EncryptServerOut is { } serverOut && keys.EncryptServerIn is { } serverIn)
                    session.Encryption = new SmbTransformCodec(session.Id, c.CipherId, serverOut, serverIn);
                // MS-SMB2 3.3.5.5.3: signing is required when the server or the client requires it.
                session.SigningRequired = c.Server.Settings.SigningRequired || (securityMode & 0x2) != 0;
                // 3.1.1: the final SESSION_SETUP response is always signed.
                if (c.Dialect == SmbDialect.Smb311) r.ForceSign = true;
            }
            session.State = SessionState.Valid;
        }
        SmbLog.SessionAuthenticated(c.Log, c.Id, session.Id, result.DomainName, result.UserName, result.IsGuest, result.IsAnonymous);
        ushort sessionFlags = result.IsAnonymous ? SessionFlagIsNull : result.IsGuest ? SessionFlagIsGuest : (ushort)0;
        if (!reauth && session.Encryption is not null && encryptionMode >= SmbEncryptionMode.Desired)
        {
            // Session.EncryptData: the client encrypts everything after this response; Required also refuses plain requests.
            session.EncryptData = true;
            session.EncryptionRequired = encryptionMode == SmbEncryptionMode.Required;
        }
        if (session.EncryptData) sessionFlags |= SessionFlagEncryptData;
        WriteResponse(r, sessionFlags, token);
        r.ResponseSessionId = session.Id;
        return (NtStatus.Success, reauth ? 0 : previousSessionId, null);
    }

    private static SpnegoServerContext NewAuthContext(SmbConnection c)
    {
        var opts = new NtlmServerOptions
        {
            NetBiosComputerName = c.Server.Settings.NetBiosName,
            NetBiosDomainName = c.Server.Settings.DomainName,
            DnsComputerName = c.Server.Settings.NetBiosName.ToLowerInvariant(),
            DnsDomainName = "",
            AllowGuest = c.Server.Settings.AllowGuest,
            AllowAnonymous = c.Server.Settings.AllowAnonymous,
            TimeProvider = c.Server.Time,
        };
        return new SpnegoServerContext(() => new NtlmServerContext(c.Server.Users, opts));
    }

    private static SmbSession NewSession(SmbConnection c)
    {
        // Random 64-bit ids, unique on this server (and, with the cluster, across nodes).
        while (true)
        {
            var id = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
            if (id == 0 || id == ulong.MaxValue) continue;
            var s = new SmbSession(id, c);
            if (!c.Server.TryRegisterSession(s)) continue;
            c.AddSession(s);
            return s;
        }
    }

    /// <summary>Response: StructureSize(9) SessionFlags SecurityBufferOffset SecurityBufferLength Buffer.</summary>
    private static void WriteResponse(SmbRequest r, ushort sessionFlags, byte[] token)
    {
        var o = r.Out;
        o.U16(9);
        o.U16(sessionFlags);
        o.U16((ushort)(token.Length == 0 ? 0 : SmbHeader.Size + 8));
        o.U16((ushort)token.Length);
        if (token.Length > 0) o.Bytes(token);
        else o.U8(0);
    }

    public static async ValueTask<NtStatus> LogoffAsync(SmbConnection c, SmbRequest r)
    {
        await c.LogoffSessionAsync(r.Session!).ConfigureAwait(false);
        r.Out.U16(4);
        r.Out.U16(0);
        return NtStatus.Success;
    }
}
