using CaStorage.Core;

namespace CaStorage.Core.Tests;

public sealed class NtStatusTests
{
    [Theory]
    [InlineData(NtStatus.ObjectNameNotFound, "STATUS_OBJECT_NAME_NOT_FOUND")]
    [InlineData(NtStatus.Success, "STATUS_SUCCESS")]
    [InlineData(NtStatus.SharingViolation, "STATUS_SHARING_VIOLATION")]
    public void ToWireName_GivesMsErrefName(NtStatus s, string name) => Assert.Equal(name, s.ToWireName());

    [Fact]
    public void Severity_IsReadFromTheTopBits()
    {
        Assert.True(NtStatus.AccessDenied.IsError());
        Assert.False(NtStatus.BufferOverflow.IsError());
        Assert.False(NtStatus.Pending.IsError());
        Assert.True(NtStatus.Success.IsSuccess());
    }

    [Theory]
    [InlineData(NtStatusMap.ENOENT, NtStatus.ObjectNameNotFound)]
    [InlineData(NtStatusMap.EACCES, NtStatus.AccessDenied)]
    [InlineData(NtStatusMap.EPERM, NtStatus.AccessDenied)]
    [InlineData(NtStatusMap.EEXIST, NtStatus.ObjectNameCollision)]
    [InlineData(NtStatusMap.ENOTEMPTY, NtStatus.DirectoryNotEmpty)]
    [InlineData(NtStatusMap.ENOSPC, NtStatus.DiskFull)]
    [InlineData(NtStatusMap.EROFS, NtStatus.MediaWriteProtected)]
    [InlineData(NtStatusMap.ENOTDIR, NtStatus.NotADirectory)]
    [InlineData(NtStatusMap.EISDIR, NtStatus.FileIsADirectory)]
    [InlineData(NtStatusMap.ENAMETOOLONG, NtStatus.NameTooLong)]
    [InlineData(NtStatusMap.EXDEV, NtStatus.NotSameDevice)]
    public void FromErrno_MapsEachRow(int errno, NtStatus expected) => Assert.Equal(expected, NtStatusMap.FromErrno(errno));

    [Fact]
    public void FromException_MapsTypedExceptions()
    {
        Assert.Equal(NtStatus.ObjectNameNotFound, NtStatusMap.FromException(new FileNotFoundException()));
        Assert.Equal(NtStatus.ObjectPathNotFound, NtStatusMap.FromException(new DirectoryNotFoundException()));
        Assert.Equal(NtStatus.AccessDenied, NtStatusMap.FromException(new UnauthorizedAccessException()));
        Assert.Equal(NtStatus.NameTooLong, NtStatusMap.FromException(new PathTooLongException()));
    }

    [Fact]
    public void FromException_ReadsErrnoThatDotNetLeavesInHResult()
    {
        // On Unix .NET reports some failures as IOException with the raw errno in HResult: check it here.
        var dir = Path.Combine(Path.GetTempPath(), "cas-nts-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "f"), "x");
        try
        {
            var ex = Assert.ThrowsAny<IOException>(() => Directory.Delete(dir, recursive: false));
            Assert.Equal(NtStatus.DirectoryNotEmpty, NtStatusMap.FromException(ex));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
