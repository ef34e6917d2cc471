using CaStorage.Core;

namespace CaStorage.Vfs.Posix;

/// <summary>
/// The placement tag lives in "user.castorage.home" (one byte; private, never shown or set as an EA). It is created with
/// XATTR_CREATE, so of two nodes tagging a file at once exactly one succeeds and the other reads the winner's byte.
/// A named stream's tag is its base file's.
/// </summary>
public sealed partial class PosixVfsModule
{
    internal const string PlacementXattr = "user.castorage.home";

    public override ValueTask<VfsResult<byte>> PlacementTagAsync(VfsFile file, byte proposed, CancellationToken ct) =>
        WithFile<byte>(file, ct, ext => ext.WithFd(fd => PlacementTag(
            () => (LibC.FGetXattr(fd, PlacementXattr, out var e), e),
            tag => LibC.FSetXattr(fd, PlacementXattr, [tag], LibC.XATTR_CREATE), proposed)));

    public override ValueTask<VfsResult<byte>> PlacementTagAsync(VfsTreeContext tree, string path, byte proposed, CancellationToken ct)
    {
        if (ct.IsCancellationRequested) return ValueTask.FromResult<VfsResult<byte>>(NtStatus.Cancelled);
        try
        {
            var status = ParseAndResolve(path, out _, out var r, out _);
            if (status != NtStatus.Success) return ValueTask.FromResult<VfsResult<byte>>(status);
            if (!r.Exists) return ValueTask.FromResult<VfsResult<byte>>(NtStatus.ObjectNameNotFound);
            return ValueTask.FromResult(PlacementTag(
                () => (LibC.LGetXattr(r.RealPath, PlacementXattr, out var e), e),
                tag => LibC.LSetXattr(r.RealPath, PlacementXattr, [tag], LibC.XATTR_CREATE), proposed));
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            return ValueTask.FromResult<VfsResult<byte>>(MapException(ex));
        }
    }

    private static VfsResult<byte> PlacementTag(Func<(byte[]? Value, int Errno)> read, Func<byte, int> create, byte proposed)
    {
        // Two rounds: absent -> create; lost the race (EEXIST) -> read the winner's.
        for (var round = 0; round < 2; round++)
        {
            var (value, errno) = read();
            if (value is not null) return value.Length == 1 ? VfsResult<byte>.Ok(value[0]) : NtStatus.NotSupported; // not ours: every node reads the same
            if (errno != PosixErrno.ENODATA) return NtStatusMap.FromErrno(errno);
            var err = create(proposed);
            if (err == 0) return VfsResult<byte>.Ok(proposed);
            if (err != PosixErrno.EEXIST) return NtStatusMap.FromErrno(err);
        }
        return NtStatus.Unsuccessful;
    }
}
