using System.Buffers;
using System.Buffers.Binary;
using CaStorage.Core;
using CaStorage.Smb.Protocol;
using CaStorage.Smb.Security;

namespace CaStorage.Smb.Server;

/// <summary>
/// SMB 3.x encryption on the connection: decrypting TRANSFORM_HEADER frames (MS-SMB2 3.3.5.2.1.1), the encryption
/// preconditions of 3.3.5.2.9 and 3.3.5.2.11, and encrypting responses (3.3.4.1.4, 3.1.4.3). A compound response
/// goes out in one transform; encrypted messages are not signed.
/// </summary>
internal sealed partial class SmbConnection
{
    /// <summary>Connection.CipherId: AES-128-CCM for 3.0/3.0.2 clients with SMB2_GLOBAL_CAP_ENCRYPTION, the negotiated cipher for 3.1.1.</summary>
    public SmbCipher CipherId { get; set; }

    /// <summary>MS-SMB2 3.3.5.2.1.1: decrypts a transform and processes the SMB2 message (or compound) inside it.</summary>
    private async Task ProcessTransformAsync(byte[] frame, int len)
    {
        // "If IsEncryptionSupported is TRUE and Connection.CipherId is not zero": otherwise this is not a message we can read.
        if (!SmbDialect.Is3x(Dialect) || CipherId == SmbCipher.None)
            throw new SmbConnectionErrorException("transform header received but no cipher was negotiated");
        var transform = frame.AsSpan(0, len);
        // Short transform, Flags/EncryptionAlgorithm not 0x0001, or a size that does not match: disconnect.
        if (!SmbTransformCodec.TryValidate(transform, out var messageLength))
            throw new SmbConnectionErrorException("malformed transform header");
        SmbTransformHeader.TryReadSessionId(transform, out var sessionId);
        // "If the session is not found, the server MUST disconnect"; so do guest and anonymous sessions (no keys, SHOULD).
        if (!TryGetSession(sessionId, out var session) || session.Encryption is not { } codec)
            throw new SmbConnectionErrorException($"encrypted message for session {sessionId:x} that has no encryption keys");
        var plain = ArrayPool<byte>.Shared.Rent(Math.Max(messageLength, 64));
        try
        {
            if (!codec.TryDecrypt(transform, plain, out var n))
                throw new SmbConnectionErrorException($"encrypted message for session {sessionId:x} failed authentication");
            await ProcessSmb2FrameAsync(plain, n, session).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(plain, clearArray: true);
        }
    }

    /// <summary>
    /// MS-SMB2 3.3.5.2.9 for a request whose session was found: an encrypted request must be encrypted with that
    /// session's key (as Samba checks the transform's SessionId), and a session that requires encryption refuses
    /// plain requests with STATUS_ACCESS_DENIED.
    /// </summary>
    private static NtStatus CheckSessionEncryption(SmbRequest req, SmbSession session)
    {
        if (req.EncryptedBy is { } by && !ReferenceEquals(by, session)) return NtStatus.AccessDenied;
        if (!req.IsEncrypted && session.EncryptionRequired) return NtStatus.AccessDenied;
        return NtStatus.Success;
    }

    /// <summary>MS-SMB2 3.3.5.2.11: on a share with EncryptData every request must be encrypted.</summary>
    private static NtStatus CheckTreeEncryption(SmbRequest req, SmbTreeConnect tree) =>
        tree.EncryptData && !req.IsEncrypted ? NtStatus.AccessDenied : NtStatus.Success;

    /// <summary>
    /// MS-SMB2 3.3.4.1.4: whether this response is encrypted. It is when the request was encrypted; when
    /// Session.EncryptData is set (not for NEGOTIATE and SESSION_SETUP); or when the tree's share requires
    /// encryption (not for NEGOTIATE, SESSION_SETUP and TREE_CONNECT). Once one response of a compound is
    /// encrypted the whole compound is (one transform, one session key). Responses sent outside the frame that
    /// carried the request (interim and asynchronous responses) must make the same decision and use
    /// <see cref="SendEncrypted"/>.
    /// </summary>
    internal static bool ShouldEncryptResponse(SmbRequest req)
    {
        if (req.Compound.EncryptWith is not null) return true;
        var command = req.Header.Command;
        var with = req.EncryptedBy;
        if (with is null && req.Session is { Encryption: not null } s && command is not (SmbCommand.Negotiate or SmbCommand.SessionSetup))
        {
            if (s.EncryptData || (req.Tree is { EncryptData: true } && command != SmbCommand.TreeConnect)) with = s;
        }
        if (with is null) return false;
        req.Compound.EncryptWith = with;
        return true;
    }

    /// <summary>
    /// Sends the finished compound in <paramref name="output"/> (Direct TCP header at 0) as one transform under
    /// <paramref name="session"/>'s key. Responses are never signed inside a transform: SMB2_FLAGS_SIGNED and the
    /// signature of any response built before the compound turned encrypted are cleared.
    /// </summary>
    internal void SendEncrypted(ResponseBuffer output, SmbSession session, List<int> responseStarts)
    {
        if (output.Length <= 4) return;
        foreach (var start in responseStarts)
        {
            var header = output.Array.AsSpan(start, SmbHeader.Size);
            var flags = BinaryPrimitives.ReadUInt32LittleEndian(header[16..]);
            BinaryPrimitives.WriteUInt32LittleEndian(header[16..], flags & ~(uint)SmbFlags.Signed);
            header.Slice(SmbHeader.SignatureOffset, 16).Clear();
        }
        var message = output.Array.AsSpan(4, output.Length - 4);
        var transformed = new ResponseBuffer(4 + SmbTransformCodec.TransformedLength(message.Length));
        try
        {
            transformed.Reserve(4);
            var at = transformed.Length;
            transformed.Advance(SmbTransformCodec.TransformedLength(message.Length));
            session.Encryption!.Encrypt(message, transformed.Array.AsSpan(at, transformed.Length - at));
            Send(transformed);
        }
        finally
        {
            transformed.Dispose();
        }
    }
}
