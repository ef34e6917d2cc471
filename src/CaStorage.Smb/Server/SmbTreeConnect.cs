using CaStorage.Vfs;

namespace CaStorage.Smb.Server;

/// <summary>A session's connection to one share, with its VFS tree context (per-tree module state).</summary>
internal sealed class SmbTreeConnect
{
    public SmbTreeConnect(uint id, SmbSession session, SmbShare? share, VfsTreeContext? vfs, bool isPipe)
    {
        Id = id;
        Session = session;
        _share = share;
        VfsOrNull = vfs;
        IsPipe = isPipe;
    }

    private readonly SmbShare? _share;

    public uint Id { get; }
    public SmbSession Session { get; }
    /// <summary>The disk share (null for IPC$).</summary>
    public SmbShare? ShareOrNull => _share;
    public SmbShare Share => _share ?? throw new InvalidOperationException("IPC$ has no disk share");
    public VfsTreeContext? VfsOrNull { get; }
    public VfsTreeContext Vfs => VfsOrNull ?? throw new InvalidOperationException("IPC$ has no VFS");
    public bool IsPipe { get; }
    /// <summary>TreeConnect.Share.EncryptData: requests on this tree must be encrypted (MS-SMB2 3.3.5.2.11).</summary>
    public bool EncryptData => _share?.EncryptData ?? false;
    public uint MaximalAccess => IsPipe ? 0x1F01FFu : Share.ReadOnly ? 0x1200A9u : 0x1F01FFu;
}
