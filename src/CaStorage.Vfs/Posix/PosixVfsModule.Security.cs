using CaStorage.Core;
using CaStorage.Core.Security;

namespace CaStorage.Vfs.Posix;

/// <summary>
/// NT security descriptors, after Samba's vfs_acl_xattr: the descriptor of a file lives in "user.castorage.ntacl"
/// (self-relative form). A file without one has a synthesized default (owner and group BUILTIN\Administrators,
/// Everyone full control, inheritable on directories), so trees created outside SMB stay open to everyone as before.
/// Every file or directory created through the module gets a stored descriptor: the creator's (SecD create context),
/// or one inherited from its parent, owned by the creating user.
/// </summary>
/// <remarks>
/// Access is decided here, where the object store is (MS-FSA 2.1.5.1.2.1 "Algorithm to Check Access to an Existing
/// File", 2.1.5.1.2.2 for new files), with <see cref="AccessCheck"/> and the caller's token:
/// <list type="bullet">
/// <item>Existing object: the requested access (plus FILE_WRITE_DATA when it is overwritten, DELETE when it is opened
/// delete-on-close) must be granted by its descriptor; FILE_READ_ATTRIBUTES is always granted (Samba, MS-FSA: it
/// comes with the right to the path) and DELETE also when the parent grants FILE_DELETE_CHILD.</item>
/// <item>New object: the parent must grant FILE_ADD_FILE (FILE_ADD_SUBDIRECTORY for a directory); the creator gets
/// the access it asked for (MAXIMUM_ALLOWED: FILE_ALL_ACCESS).</item>
/// </list>
/// </remarks>
public sealed partial class PosixVfsModule
{
    private const AccessMask AlwaysGranted = AccessMask.FileReadAttributes;

    /// <summary>The descriptor of an object without a stored one.</summary>
    internal static SecurityDescriptor DefaultDescriptor(bool isDirectory) => new()
    {
        Control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent,
        Owner = WellKnownSids.BuiltinAdministrators,
        Group = WellKnownSids.BuiltinAdministrators,
        Dacl = new Acl(
        [
            new Ace(AceType.AccessAllowed, isDirectory ? AceFlags.ObjectInherit | AceFlags.ContainerInherit : AceFlags.None,
                AccessMask.FileAllAccess, WellKnownSids.Everyone),
        ]),
    };

    /// <summary>
    /// What a malformed stored descriptor is read as: closed to everyone but BUILTIN\Administrators, who may set a
    /// new one (failing open would hand a protected file to everyone).
    /// </summary>
    internal static SecurityDescriptor CorruptDescriptor() => new()
    {
        Control = SecurityDescriptorControl.SelfRelative | SecurityDescriptorControl.DaclPresent,
        Owner = WellKnownSids.BuiltinAdministrators,
        Group = WellKnownSids.BuiltinAdministrators,
        Dacl = new Acl([new Ace(AceType.AccessAllowed, AceFlags.None, AccessMask.FileAllAccess, WellKnownSids.BuiltinAdministrators)]),
    };

    /// <summary>The stored descriptor of an open object (fd that permits fgetxattr), or the default when none is stored.</summary>
    private SecurityDescriptor ReadDescriptor(int fd, bool isDirectory)
    {
        var stored = LibC.FGetXattr(fd, NtAclXattr, out _);
        if (stored is null) return DefaultDescriptor(isDirectory);
        if (SecurityDescriptor.TryParse(stored, out var sd)) return sd;
        VfsLog.DescriptorCorrupt(_logger, _shareName, FdPath(fd));
        return CorruptDescriptor();
    }

    /// <summary>The descriptor of a directory held by an O_PATH fd (xattrs need a real fd: reopen "." from it).</summary>
    private SecurityDescriptor ReadDirectoryDescriptor(int pathFd)
    {
        var fd = LibC.OpenAt(pathFd, ".", LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_CLOEXEC | LibC.O_NONBLOCK, 0);
        if (fd < 0) return DefaultDescriptor(isDirectory: true);
        try
        {
            return ReadDescriptor(fd, isDirectory: true);
        }
        finally
        {
            LibC.Close(fd);
        }
    }

    /// <summary>The descriptor of the directory that holds <paramref name="r"/>'s entry; null for the share root.</summary>
    private SecurityDescriptor? ReadParentDescriptor(string root, Resolution r)
    {
        if (r.IsRoot) return null;
        if (OpenVerifiedDirectory(root, r.ParentReal, out var pfd) != NtStatus.Success) return null;
        try
        {
            return ReadDirectoryDescriptor(pfd);
        }
        finally
        {
            LibC.Close(pfd);
        }
    }

    private static bool GrantsDeleteChild(SecurityDescriptor? parent, SecurityToken token) =>
        parent is not null && AccessCheck.IsGranted(parent, token, AccessMask.FileDeleteChild);

    /// <summary>Everything the token may do to an object with <paramref name="sd"/> in a directory with <paramref name="parent"/>.</summary>
    private static AccessMask MaximalAccess(SecurityDescriptor sd, Func<SecurityDescriptor?> parent, SecurityToken token)
    {
        var max = AccessCheck.MaximumAllowed(sd, token) | AlwaysGranted;
        if ((max & AccessMask.Delete) == 0 && GrantsDeleteChild(parent(), token)) max |= AccessMask.Delete;
        return max;
    }

    /// <summary>
    /// MS-FSA 2.1.5.1.2.1 for an existing object open on <paramref name="fd"/>: AccessDenied, or the granted and
    /// maximal access.
    /// </summary>
    private NtStatus AuthorizeExisting(VfsTreeContext tree, string root, Resolution r, int fd, bool isDirectory, VfsOpenRequest request,
        bool truncating, out AccessMask granted, out AccessMask maximal)
    {
        var token = tree.User.Token;
        var sd = ReadDescriptor(fd, isDirectory);
        SecurityDescriptor? parent = null;
        var parentRead = false;
        SecurityDescriptor? Parent()
        {
            if (!parentRead) { parent = ReadParentDescriptor(root, r); parentRead = true; }
            return parent;
        }

        var desired = request.Access.MapGeneric();
        var maximum = (desired & AccessMask.MaximumAllowed) != 0;
        var asked = desired & ~AccessMask.MaximumAllowed;
        var check = asked;
        if (truncating) check |= AccessMask.FileWriteData;
        if ((request.Options & CreateOptions.DeleteOnClose) != 0) check |= AccessMask.Delete;
        check &= ~AlwaysGranted;

        maximal = MaximalAccess(sd, Parent, token);
        granted = AccessMask.None;
        if (maximum)
        {
            if ((check & ~maximal) != 0) return NtStatus.AccessDenied;
            granted = asked | maximal;
            return NtStatus.Success;
        }
        if (!AccessCheck.IsGranted(sd, token, check))
        {
            // MS-FSA: DELETE may come from the parent's FILE_DELETE_CHILD instead.
            if ((check & AccessMask.Delete) == 0 || !AccessCheck.IsGranted(sd, token, check & ~AccessMask.Delete)
                || !GrantsDeleteChild(Parent(), token))
            {
                return NtStatus.AccessDenied;
            }
        }
        granted = asked;
        return NtStatus.Success;
    }

    /// <summary>
    /// MS-FSA 2.1.5.1.2.2: may the token create <paramref name="isDirectory"/> in the directory held by
    /// <paramref name="parentPathFd"/>? Also validates the creator's owner, and computes the new object's descriptor
    /// (before anything is created, so a refusal leaves nothing behind).
    /// </summary>
    private NtStatus AuthorizeCreate(VfsTreeContext tree, int parentPathFd, bool isDirectory, VfsOpenRequest request, out NewObjectSecurity security)
    {
        security = default;
        var token = tree.User.Token;
        var parent = ReadDirectoryDescriptor(parentPathFd);
        var need = isDirectory ? AccessMask.FileAppendData /* FILE_ADD_SUBDIRECTORY */ : AccessMask.FileWriteData /* FILE_ADD_FILE */;
        if (!AccessCheck.IsGranted(parent, token, need)) return NtStatus.AccessDenied;
        if (request.CreatorDescriptor?.Owner is { } owner && !token.CanAssignOwner(owner)) return NtStatus.InvalidOwner;
        var child = SecurityInheritance.CreateChild(parent, request.CreatorDescriptor, isDirectory, token);
        if (!child.IsWithinLimits) return NtStatus.InvalidAcl;
        security = new NewObjectSecurity(parent, child);
        return NtStatus.Success;
    }

    /// <summary>The parent's descriptor and the one computed for the object being created.</summary>
    private readonly record struct NewObjectSecurity(SecurityDescriptor Parent, SecurityDescriptor Child);

    /// <summary>Stores the descriptor of a just-created object and computes the access of its creator.</summary>
    private void StoreNewDescriptor(VfsTreeContext tree, Resolution r, int fd, bool isDirectory, NewObjectSecurity security, VfsOpenRequest request,
        out AccessMask granted, out AccessMask maximal)
    {
        var sd = security.Child;
        var err = LibC.FSetXattr(fd, NtAclXattr, sd.ToSelfRelative());
        if (err != 0)
        {
            VfsLog.XattrFailed(_logger, NtAclXattr, _shareName, r.ShareRelative, err);
            sd = DefaultDescriptor(isDirectory);
        }
        var desired = request.Access.MapGeneric();
        granted = (desired & AccessMask.MaximumAllowed) != 0
            ? (desired & ~AccessMask.MaximumAllowed) | AccessMask.FileAllAccess
            : desired;
        maximal = MaximalAccess(sd, () => security.Parent, tree.User.Token);
    }

    public override ValueTask<VfsResult<byte[]>> GetSecurityAsync(VfsFile file, uint securityInformation, CancellationToken ct) =>
        WithFile<byte[]>(file, ct, ext => ext.WithFd(fd =>
            VfsResult<byte[]>.Ok(ReadDescriptor(fd, ext.IsDirectory).ToSelfRelative((SecurityInformation)securityInformation))));

    /// <summary>
    /// Merges the parts named by <paramref name="securityInformation"/> into the stored descriptor. The caller has
    /// checked the handle's WRITE_OWNER / WRITE_DAC. A new owner must be one the caller's token may assign (its user or
    /// groups; anyone for an administrator) unless it is the current owner (InvalidOwner otherwise). A DACL set without
    /// SE_DACL_PRESENT becomes a NULL DACL; GENERIC_* bits of effective ACEs are mapped.
    /// </summary>
    public override ValueTask<NtStatus> SetSecurityAsync(VfsFile file, uint securityInformation, ReadOnlyMemory<byte> descriptor, CancellationToken ct) =>
        WithFile(file, ct, ext =>
        {
            var parts = (SecurityInformation)securityInformation & SecurityInformation.OwnerGroupDaclSacl;
            if (parts == 0) return NtStatus.Success;
            if (!SecurityDescriptor.TryParse(descriptor.Span, out var update)) return NtStatus.InvalidSecurityDescr;
            var token = file.Tree.User.Token;
            return ext.WithFd(fd =>
            {
                var current = ReadDescriptor(fd, ext.IsDirectory);
                if ((parts & SecurityInformation.Owner) != 0 && update.Owner is { } owner && owner != current.Owner && !token.CanAssignOwner(owner))
                    return NtStatus.InvalidOwner;
                var merged = current.Merge(update.MapGenericRights(), parts);
                var err = LibC.FSetXattr(fd, NtAclXattr, merged.ToSelfRelative());
                return err == 0 ? NtStatus.Success : NtStatusMap.FromErrno(err);
            });
        });
}
