using RiskEngine.Tests.Redis;
using RiskEngine.Tests.Worker;

namespace RiskEngine.Tests.Security;

/// <summary>TOTP commands on the Redis store with a key ring that is not the one its secrets were encrypted with.</summary>
[Collection("redis")]
[Trait("Category", "EndToEnd")]
public sealed class RedisKeyRingTests(RedisFixture redis) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("riskengine-redis-keys-");

    private string P(string name) => Path.Combine(_dir.FullName, name);

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task Verifying_with_another_key_ring_is_refused_with_a_message_and_exit_2_not_a_stack_trace()
    {
        var account = "totp-redis-" + Guid.NewGuid().ToString("N")[..8];
        var secret = await KeyRingTests.EnrollConfirmedAsync(account, null, "--redis", redis.Configuration, "--keys-dir", P("ours"));

        var (code, output, err) = await WorkerProcess.RunCliAsync(null, "totp", "verify", account, "--code", KeyRingTests.Code(secret, 1),
            "--redis", redis.Configuration, "--keys-dir", P("theirs"));
        Assert.True(code == 2, output + err);
        Assert.Contains("the key ring cannot decrypt this account's TOTP secret", err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        Assert.DoesNotContain("accepted", output, StringComparison.Ordinal);

        (code, output, err) = await WorkerProcess.RunCliAsync(null, "totp", "verify", account, "--code", KeyRingTests.Code(secret, 1),
            "--redis", redis.Configuration, "--keys-dir", P("ours"));
        Assert.True(code == 0, output + err);
    }
}
