using System.Text.Json;
using System.Text.Json.Nodes;
using RiskEngine.Domain;
using RiskEngine.Passwords;
using RiskEngine.Policies;

namespace RiskEngine.Tests.Passwords;

/// <summary>The password policy: every reason a candidate is refused, named, with advice; the candidate never kept.</summary>
public sealed class PasswordCheckerTests
{
    private static readonly PasswordContext Alice = new()
    {
        Account = AccountId.Create("alice-w"),
        Email = "alice.wong@mail.example",
        Name = "Alice Wong",
        BirthDate = new DateOnly(1990, 5, 12),
    };

    private static async Task<PasswordVerdict> Check(string candidate, PasswordContext? context = null, Action<JsonObject>? policy = null)
    {
        await using var t = new TestEngine(policy);
        return t.Passwords.Check(candidate, context);
    }

    [Fact]
    public async Task A_long_unpredictable_passphrase_with_every_class_is_allowed()
    {
        var v = await Check("Tundra-lantern-47-quietly-orbit!", Alice);
        Assert.True(v.Allowed, string.Join(", ", v.Codes));
        Assert.Empty(v.Findings);
        Assert.InRange(v.Score, 3, 4);
    }

    [Theory]
    [InlineData("Ab3$efg", "password.too_short")]
    [InlineData("tundralanternquietlyorbit", "password.missing_class")]
    [InlineData("iloveyou", "password.common")]
    [InlineData("aaaaaaaaaaaaaaaaaa1!A", "password.weak")]
    public async Task Each_rule_names_its_code(string candidate, string code)
    {
        var v = await Check(candidate);
        Assert.False(v.Allowed);
        Assert.Contains(code, v.Codes);
        var finding = v.Findings.Single(f => f.Code == code);
        Assert.False(string.IsNullOrWhiteSpace(finding.Advice["en"]));
        Assert.False(string.IsNullOrWhiteSpace(finding.Advice["zh-CN"]));
    }

    [Theory]
    [InlineData("Tundra!lantern19900512")]
    [InlineData("Tundra!lantern900512")]
    [InlineData("Tundra!lantern0512")]
    [InlineData("Tundra!lantern12051990")]
    [InlineData("Tundra!lantern1990-05-12")]
    [InlineData("Tundra!lantern12/05/1990")]
    [InlineData("Tundra!lantern1990.5.12")]
    public async Task The_birth_date_is_refused_in_every_common_format(string candidate)
    {
        Assert.Contains("password.contains_birth_date", (await Check(candidate, Alice)).Codes);
        Assert.DoesNotContain("password.contains_birth_date", (await Check(candidate)).Codes); // only when the caller gives one
    }

    [Theory]
    [InlineData("Tundra!47-Alice-W")] // a name part, any case
    [InlineData("Tundra!47-ALICE.WONG")] // the e-mail local part
    [InlineData("Tundra!47-alice-w")] // the account id
    public async Task The_account_e_mail_and_name_are_refused(string candidate) =>
        Assert.Contains("password.contains_name", (await Check(candidate, Alice)).Codes);

    [Fact]
    public async Task Every_failed_rule_is_reported_not_just_the_first()
    {
        var v = await Check("alice0512", Alice);
        Assert.Equal(["password.too_short", "password.missing_class", "password.contains_birth_date", "password.contains_name", "password.weak"], v.Codes);
    }

    [Fact]
    public async Task The_candidate_is_never_in_the_verdict()
    {
        const string candidate = "Zq9!unique-Marker-7781";
        var v = await Check(candidate, Alice);
        Assert.DoesNotContain("unique-Marker", v.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("unique-Marker", JsonSerializer.Serialize(v), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_policy_section_sets_every_field_and_max_age_is_only_advice()
    {
        var v = await Check("tundra lantern quietly", policy: p => p["passwords"] = JsonNode.Parse("""
            {"minLength": 8, "require": ["letters"], "minScore": 0, "rejectCommon": false, "rejectBirthDate": false, "rejectName": false, "maxAge": "365d"}
            """));
        Assert.True(v.Allowed, string.Join(", ", v.Codes));
        Assert.Equal(TimeSpan.FromDays(365), v.RotateAfter);
    }

    [Theory]
    [InlineData("""{"minLength": 4}""", "$.passwords.minLength", "between 8 and 128")]
    [InlineData("""{"require": ["emoji"]}""", "$.passwords.require[0]", "'emoji' is not one of")]
    [InlineData("""{"minScore": 5}""", "$.passwords.minScore", "between 0 and 4")]
    [InlineData("""{"rejectCommon": "yes"}""", "$.passwords.rejectCommon", "true or false")]
    [InlineData("""{"maxAge": "1h"}""", "$.passwords.maxAge", "at least 1d")]
    [InlineData("""{"expireEvery": "90d"}""", "$.passwords.expireEvery", "")]
    public void A_bad_passwords_section_is_refused_with_its_path(string section, string path, string reason)
    {
        var errors = TestPolicies.ErrorsOf(p => p["passwords"] = JsonNode.Parse(section));
        Assert.Contains(errors, x => x.Path == path && x.Message.Contains(reason, StringComparison.Ordinal));
    }
}
