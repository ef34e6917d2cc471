namespace CaStorage.Smb.Server;

/// <summary>
/// Server-wide SMB 3.x encryption policy, after Samba's "server smb encrypt" (MS-SMB2 3.3.1.5 EncryptData and
/// RejectUnencryptedAccess). Per share, <see cref="SmbShare.EncryptData"/> requires encryption on that share alone.
/// </summary>
public enum SmbEncryptionMode
{
    /// <summary>No cipher is negotiated; encrypted requests drop the connection.</summary>
    Off,

    /// <summary>
    /// The default (Samba "default"/"if_required"): a cipher is negotiated with clients that offer one, and messages
    /// are encrypted when the client encrypts or a share requires it; sessions are not asked to encrypt.
    /// </summary>
    Enabled,

    /// <summary>Sessions of clients that can encrypt get SMB2_SESSION_FLAG_ENCRYPT_DATA; others still connect unencrypted.</summary>
    Desired,

    /// <summary>
    /// Every session must encrypt: SMB2_SESSION_FLAG_ENCRYPT_DATA, unencrypted requests refused with STATUS_ACCESS_DENIED,
    /// and clients that cannot encrypt (2.x dialects, no common cipher, guest and anonymous) refused at SESSION_SETUP.
    /// </summary>
    Required,
}
