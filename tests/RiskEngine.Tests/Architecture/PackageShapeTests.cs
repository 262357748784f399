namespace RiskEngine.Tests.Architecture;

/// <summary>The package layout (docs/architecture.md): a small core, integrations in packages of their own.</summary>
public sealed class PackageShapeTests
{
    private static string[] References(Type inAssembly) =>
        inAssembly.Assembly.GetReferencedAssemblies().Select(a => a.Name!).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void The_core_has_no_hosting_no_data_protection_no_dependency_injection_and_no_other_riskengine_package()
    {
        var refs = References(typeof(IRiskEngine));
        Assert.DoesNotContain(refs, r => r.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.DoesNotContain(refs, r => r.StartsWith("Microsoft.Extensions.Hosting", StringComparison.Ordinal));
        Assert.DoesNotContain(refs, r => r.StartsWith("Microsoft.Extensions.DependencyInjection", StringComparison.Ordinal));
        Assert.DoesNotContain(refs, r => r.StartsWith("RiskEngine.", StringComparison.Ordinal));
        Assert.Contains("NRules", refs);
    }

    [Fact]
    public void Registration_and_data_protection_live_in_the_extensions_package_and_the_json_lines_pump_in_the_pipeline_package()
    {
        Assert.Equal("RiskEngine.Extensions", typeof(Microsoft.Extensions.DependencyInjection.RiskEngineServiceCollectionExtensions).Assembly.GetName().Name);
        Assert.Equal("RiskEngine.Extensions", typeof(RiskEngine.TwoFactor.DataProtectionSecretProtector).Assembly.GetName().Name);
        Assert.Equal("RiskEngine.Pipeline", typeof(RiskEngine.Pipeline.EventStreamProcessor).Assembly.GetName().Name);
        Assert.DoesNotContain(References(typeof(RiskEngine.Pipeline.EventStreamProcessor)), r => r.StartsWith("Microsoft.Extensions.Hosting", StringComparison.Ordinal) || r.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_host_shares_the_hosting_package_and_only_the_server_knows_asp_net_core()
    {
        Assert.Equal("RiskEngine.Hosting", typeof(RiskEngine.Hosting.RiskEngineHost).Assembly.GetName().Name);
        Assert.Equal("RiskEngine.Hosting", typeof(RiskEngine.Hosting.RequestPump).Assembly.GetName().Name);
        var hosting = References(typeof(RiskEngine.Hosting.RiskEngineHost));
        Assert.DoesNotContain(hosting, r => r.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) && r != "Microsoft.AspNetCore.DataProtection" && r != "Microsoft.AspNetCore.DataProtection.Abstractions");
        Assert.DoesNotContain(hosting, r => r is "RiskEngine.Server" or "RiskEngine.Worker" or "RiskEngine.Cli");
        var server = References(typeof(RiskEngine.Server.Program));
        Assert.Contains("RiskEngine.Hosting", server);
        Assert.Contains(server, r => r.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        // Neither the core nor the pipeline learned about HTTP.
        Assert.DoesNotContain(References(typeof(RiskEngine.Pipeline.EventStreamProcessor)), r => r.StartsWith("RiskEngine.Hosting", StringComparison.Ordinal));
    }
}
