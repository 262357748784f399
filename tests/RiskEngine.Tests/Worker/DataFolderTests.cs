using RiskEngine.Sqlite;

namespace RiskEngine.Tests.Worker;

/// <summary>The data folder's lock and its files, as the worker and the CLI use them.</summary>
[Trait("Category", "EndToEnd")]
public sealed class DataFolderTests() : ScratchFolder("riskengine-data-")
{
    protected override void Cleanup()
    {
        if (!OperatingSystem.IsWindows() && Directory.Exists(P("data"))) File.SetUnixFileMode(P("data"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [Fact]
    public void The_lock_is_exclusive_and_released_on_dispose()
    {
        using (var first = DataFolderLock.TryAcquire(P("data")))
        {
            Assert.NotNull(first);
            Assert.Null(DataFolderLock.TryAcquire(P("data")));
        }
        using var again = DataFolderLock.TryAcquire(P("data"));
        Assert.NotNull(again);
    }

    /// <summary>Data folders whose lock file cannot be created or opened, for reasons other than a running worker.</summary>
    public static TheoryData<string> Unusable()
    {
        var cases = new TheoryData<string> { "lock-is-a-folder" };
        if (OperatingSystem.IsLinux()) cases.Add("proc"); // a file system that refuses new files (ENOENT)
        if (!OperatingSystem.IsWindows() && Environment.UserName != "root") cases.Add("read-only"); // root ignores permission bits
        return cases;
    }

    private string MakeUnusable(string kind)
    {
        switch (kind)
        {
            case "lock-is-a-folder":
                Directory.CreateDirectory(Path.Combine(P("data"), DataFolderLock.FileName));
                return P("data");
            case "proc":
                return "/proc/1";
            default:
                Directory.CreateDirectory(P("data"));
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(P("data"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
                return P("data");
        }
    }

    [Theory]
    [MemberData(nameof(Unusable))]
    public async Task A_lock_file_that_cannot_be_created_is_reported_with_the_folder_and_the_OS_error_not_as_a_running_worker(string kind)
    {
        var data = MakeUnusable(kind);

        var ex = Assert.Throws<DataFolderException>(() => DataFolderLock.TryAcquire(data));
        Assert.Contains(data, ex.Message, StringComparison.Ordinal);

        var (code, log) = await WorkerProcess.RunAsync("--input", Sample("events.example.jsonl"), "--output", P("out.jsonl"), "--data", data, "--once");
        Assert.True(code == 2, log);
        Assert.Contains($"data folder '{data}'", log, StringComparison.Ordinal);
        Assert.Contains("cannot create or open the lock file", log, StringComparison.Ordinal);
        Assert.Contains(ex.InnerException!.Message, log, StringComparison.Ordinal); // the OS error
        Assert.DoesNotContain("another worker", log, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", log, StringComparison.Ordinal);

        var (c, _, err) = await WorkerProcess.RunCliAsync(null, "account", "unfreeze", "acct-D", "--by", "a", "--reason", "r", "--data", data);
        Assert.Equal(2, c);
        Assert.Contains("cannot create or open the lock file", err, StringComparison.Ordinal);
        Assert.DoesNotContain("a worker is running", err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
    }
}
