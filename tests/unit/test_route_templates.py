"""ASP.NET Core route template matching, as used by HTTP trigger routes."""

from __future__ import annotations

import re

import pytest

from funchost.route_templates import RouteTemplate, RouteTemplateError, best_match, compile_route


def m(template: str, path: str) -> dict[str, str] | None:
    return compile_route(template).match(path)


# ---------------------------------------------------------------- literals and parameters


class TestLiteralsAndParameters:
    def test_literal_is_case_insensitive(self) -> None:
        assert m("orchestrators/start", "Orchestrators/START") == {}

    def test_literal_mismatch(self) -> None:
        assert m("orchestrators/start", "orchestrators/stop") is None

    def test_parameter_captures_segment(self) -> None:
        assert m("orchestrators/{functionName}", "orchestrators/Hello") == {"functionName": "Hello"}

    def test_parameter_value_keeps_case(self) -> None:
        assert m("items/{id}", "ITEMS/AbC") == {"id": "AbC"}

    def test_parameter_does_not_span_slash(self) -> None:
        assert m("items/{id}", "items/a/b") is None

    def test_path_too_short(self) -> None:
        assert m("items/{id}", "items") is None

    def test_trailing_and_leading_slash_ignored(self) -> None:
        assert m("items/{id}", "items/7/") == {"id": "7"}
        assert m("items/{id}", "/items/7") == {"id": "7"}

    def test_template_leading_slash_and_tilde(self) -> None:
        assert m("/items/{id}", "items/1") == {"id": "1"}
        assert m("~/items/{id}", "items/1") == {"id": "1"}

    def test_empty_template_matches_only_empty_path(self) -> None:
        assert m("", "") == {}
        assert m("", "/") == {}
        assert m("", "x") is None

    def test_values_are_percent_decoded(self) -> None:
        assert m("files/{name}", "files/a%20b%C3%A9") == {"name": "a bé"}

    def test_encoded_slash_stays_in_one_segment(self) -> None:
        assert m("files/{name}", "files/a%2Fb") == {"name": "a/b"}

    def test_plus_is_not_space(self) -> None:
        assert m("files/{name}", "files/a+b") == {"name": "a+b"}

    def test_encoded_literal_matches(self) -> None:
        assert m("my files/{name}", "my%20files/x") == {"name": "x"}

    def test_query_string_ignored(self) -> None:
        assert m("items/{id}", "items/3?x=1") == {"id": "3"}

    def test_escaped_braces_are_literal(self) -> None:
        assert m("a{{b}}/{x}", "a{b}/1") == {"x": "1"}
        assert m("a{{b}}/{x}", "ab/1") is None

    def test_empty_path_segment_fails_parameter(self) -> None:
        assert m("a/{x}/c", "a//c") is None


# ---------------------------------------------------------------- optional, defaults, catch-all


class TestOptionalDefaultsCatchAll:
    def test_optional_present(self) -> None:
        assert m("items/{id?}", "items/5") == {"id": "5"}

    def test_optional_missing_is_absent(self) -> None:
        assert m("items/{id?}", "items") == {}
        assert m("items/{id?}", "items/") == {}

    def test_default_used_when_missing(self) -> None:
        assert m("{controller=Home}/{action=Index}/{id?}", "") == {
            "controller": "Home",
            "action": "Index",
        }
        assert m("{controller=Home}/{action=Index}/{id?}", "Products") == {
            "controller": "Products",
            "action": "Index",
        }
        assert m("{controller=Home}/{action=Index}/{id?}", "p/list/4") == {
            "controller": "p",
            "action": "list",
            "id": "4",
        }

    def test_only_trailing_segments_may_be_missing(self) -> None:
        assert m("a/{x?}/b", "a") is None
        assert m("a/{x?}/b", "a/1/b") == {"x": "1"}

    def test_required_after_optional_missing(self) -> None:
        assert m("{a?}/{b}", "1") is None

    def test_catch_all_single_star(self) -> None:
        assert m("files/{*path}", "files/a/b/c.txt") == {"path": "a/b/c.txt"}

    def test_catch_all_double_star(self) -> None:
        assert m("files/{**path}", "files/a/b") == {"path": "a/b"}

    def test_catch_all_may_be_empty(self) -> None:
        assert m("files/{*path}", "files") == {"path": ""}
        assert m("files/{*path}", "files/") == {"path": ""}

    def test_catch_all_default(self) -> None:
        assert m("files/{*path=index.html}", "files") == {"path": "index.html"}

    def test_catch_all_decodes(self) -> None:
        assert m("files/{*path}", "files/a%20b/c%2Fd") == {"path": "a b/c/d"}

    def test_catch_all_alone_matches_everything(self) -> None:
        assert m("{*all}", "x/y/z") == {"all": "x/y/z"}
        assert m("{*all}", "") == {"all": ""}

    def test_extra_segments_without_catch_all(self) -> None:
        assert m("a/{b}", "a/1/2") is None


# ---------------------------------------------------------------- constraints


class TestConstraints:
    @pytest.mark.parametrize(
        ("constraint", "good", "bad"),
        [
            ("int", ["0", "-5", "+7", "2147483647"], ["x", "1.5", "2147483648", ""]),
            ("long", ["9223372036854775807", "-3"], ["9223372036854775808", "1e3"]),
            ("bool", ["true", "False", "TRUE"], ["yes", "1"]),
            (
                "guid",
                [
                    "0f8fad5b-d9cb-469f-a165-70867728950e",
                    "0F8FAD5BD9CB469FA16570867728950E",
                    "{0f8fad5b-d9cb-469f-a165-70867728950e}",
                    "(0f8fad5b-d9cb-469f-a165-70867728950e)",
                ],
                ["0f8fad5b-d9cb-469f-a165", "zz8fad5b-d9cb-469f-a165-70867728950e"],
            ),
            ("alpha", ["abc", "ABCdef"], ["ab1", "a-b"]),
            (
                "double",
                ["1", "1.5", "-2.5e3", ".5", "1,000.25", "NaN", "Infinity"],
                ["x", "1.2.3", "e5"],
            ),
            ("float", ["3.14", "-1E-2"], ["pi"]),
            ("decimal", ["1", "1.5", "-0.25", "1,000"], ["1e5", "x"]),
            (
                "datetime",
                [
                    "2024-01-31",
                    "2024-01-31T10:20:30",
                    "2024-01-31T10:20:30Z",
                    "01-31-2024".replace("-", "%2F"),
                ],
                ["2024-13-01", "yesterday", "123"],
            ),
        ],
    )
    def test_type_constraints(self, constraint: str, good: list[str], bad: list[str]) -> None:
        template = compile_route(f"v/{{x:{constraint}}}")
        for value in good:
            assert template.match(f"v/{value}") is not None, (constraint, value)
        for value in bad:
            if value:
                assert template.match(f"v/{value}") is None, (constraint, value)

    def test_constraint_names_case_insensitive(self) -> None:
        assert m("v/{x:INT}", "v/1") == {"x": "1"}

    def test_length_constraints(self) -> None:
        assert m("{x:minlength(3)}", "abc") is not None
        assert m("{x:minlength(3)}", "ab") is None
        assert m("{x:maxlength(3)}", "abcd") is None
        assert m("{x:maxlength(3)}", "abc") is not None
        assert m("{x:length(2)}", "ab") is not None
        assert m("{x:length(2)}", "abc") is None
        assert m("{x:length(2,4)}", "abcd") is not None
        assert m("{x:length(2,4)}", "a") is None
        assert m("{x:length(2,4)}", "abcde") is None

    def test_length_counts_decoded_characters(self) -> None:
        assert m("{x:length(1)}", "%C3%A9") == {"x": "é"}

    def test_numeric_range_constraints(self) -> None:
        assert m("{x:min(10)}", "10") is not None
        assert m("{x:min(10)}", "9") is None
        assert m("{x:min(10)}", "abc") is None
        assert m("{x:max(10)}", "10") is not None
        assert m("{x:max(10)}", "11") is None
        assert m("{x:range(1,3)}", "2") is not None
        assert m("{x:range(1,3)}", "4") is None
        assert m("{x:range(-3, -1)}", "-2") is not None

    def test_chained_constraints(self) -> None:
        template = compile_route("items/{id:int:min(1)}")
        assert template.match("items/1") == {"id": "1"}
        assert template.match("items/0") is None
        assert template.match("items/x") is None

    def test_regex_constraint(self) -> None:
        template = compile_route(r"zip/{code:regex(^\d{{5}}$)}")
        assert template.match("zip/12345") == {"code": "12345"}
        assert template.match("zip/1234") is None
        assert template.match("zip/123456") is None

    def test_regex_is_unanchored_and_case_insensitive(self) -> None:
        template = compile_route("r/{x:regex(ab)}")
        assert template.match("r/xxABxx") is not None
        assert template.match("r/xx") is None

    def test_regex_with_colon_and_parens_then_more_constraints(self) -> None:
        template = compile_route("r/{x:regex(^a:(b|c)$):minlength(3)}")
        assert template.match("r/a:c") == {"x": "a:c"}
        assert template.match("r/a:z") is None

    def test_regex_with_dotnet_named_group(self) -> None:
        assert m(r"r/{x:regex(^(?<y>\d+)$)}", "r/42") == {"x": "42"}

    def test_constraint_with_default(self) -> None:
        assert m("p/{page:int=1}", "p") == {"page": "1"}
        assert m("p/{page:int=1}", "p/3") == {"page": "3"}
        assert m("p/{page:int=1}", "p/x") is None

    def test_optional_with_constraint(self) -> None:
        assert m("p/{page:int?}", "p") == {}
        assert m("p/{page:int?}", "p/2") == {"page": "2"}
        assert m("p/{page:int?}", "p/x") is None

    def test_catch_all_with_constraint(self) -> None:
        assert m("f/{*rest:minlength(3)}", "f/a/b") == {"rest": "a/b"}
        assert m("f/{*rest:minlength(4)}", "f/a/b") is None


# ---------------------------------------------------------------- complex segments


class TestComplexSegments:
    def test_parameter_then_literal_suffix(self) -> None:
        assert m("{modelId}:analyzeBatch", "model-1.v2:analyzeBatch") == {"modelId": "model-1.v2"}

    def test_literal_prefix_segment(self) -> None:
        template = compile_route("documentModels/{modelId}:analyzeBatch")
        assert template.match("documentModels/prebuilt-read.v1:analyzeBatch") == {
            "modelId": "prebuilt-read.v1"
        }
        assert template.match("documentmodels/x:ANALYZEBATCH") == {"modelId": "x"}
        assert template.match("documentModels/x:analyze") is None
        assert template.match("documentModels/:analyzeBatch") is None

    def test_suffix_discriminates(self) -> None:
        batch = compile_route("models/{modelId}:detect-batch")
        last = compile_route("models/{modelId}:detect-last")
        assert batch.match("models/m-1.2:detect-batch") == {"modelId": "m-1.2"}
        assert batch.match("models/m-1.2:detect-last") is None
        assert last.match("models/m-1.2:detect-last") == {"modelId": "m-1.2"}
        assert last.match("models/m-1.2:detect-batch") is None

    def test_parameter_may_contain_the_suffix_text(self) -> None:
        assert m("models/{modelId}:detect-batch", "models/a:detect-batch:detect-batch") == {
            "modelId": "a:detect-batch"
        }

    def test_two_parameters_split_right_to_left(self) -> None:
        assert m("{a}-{b}", "x-y") == {"a": "x", "b": "y"}
        assert m("{a}-{b}", "x-y-z") == {"a": "x-y", "b": "z"}
        assert m("{a}-{b}", "xy") is None
        assert m("{a}-{b}", "-y") is None
        assert m("{a}-{b}", "x-") is None

    def test_right_to_left_last_index_semantics(self) -> None:
        # ASP.NET finds the literal with LastIndexOf, leaving one char for the parameter after it.
        assert m("{a}ab{b}", "xabab") == {"a": "x", "b": "ab"}

    def test_literal_prefix_and_suffix_in_one_segment(self) -> None:
        assert m("file-{name}.txt", "file-report.txt") == {"name": "report"}
        assert m("file-{name}.txt", "FILE-report.TXT") == {"name": "report"}
        assert m("file-{name}.txt", "xfile-report.txt") is None
        assert m("file-{name}.txt", "file-report.txtx") is None

    def test_optional_extension(self) -> None:
        template = compile_route("files/{name}.{ext?}")
        assert template.match("files/report.pdf") == {"name": "report", "ext": "pdf"}
        assert template.match("files/archive.tar.gz") == {"name": "archive.tar", "ext": "gz"}
        assert template.match("files/report") == {"name": "report"}
        assert template.match("files/report.") is None

    def test_complex_segment_constraints_checked_after_split(self) -> None:
        template = compile_route("{a:int}-{b}")
        assert template.match("1-2") == {"a": "1", "b": "2"}
        assert template.match("1-2-3") is None  # a = "1-2" is not an int


# ---------------------------------------------------------------- invalid templates


class TestInvalidTemplates:
    @pytest.mark.parametrize(
        ("template", "message"),
        [
            ("a/{b", "Unbalanced"),
            ("a/b}", "Unbalanced"),
            ("a/{b{c}}", "Unescaped"),
            ("{x}/{X}", "more than once"),
            ("{*rest}/a", "last segment"),
            ("a/{x:foo}", "Unknown route constraint 'foo'"),
            ("a/{x:min(a)}", "integer"),
            ("a/{x:range(1)}", "2 integer"),
            ("a/{x:range(5,1)}", "greater"),
            ("a/{x:length(4,2)}", "invalid range"),
            ("a/{x:regex([)}", "Invalid regex"),
            ("a/{x:int(3)}", "no argument"),
            ("a/{}", "Empty parameter"),
            ("a//b", "consecutively"),
            ("a/b?c", "cannot contain '?'"),
            ("{a}{b}", "consecutive parameters"),
            ("x{*rest}", "catch-all"),
            ("{x?}-y", "end of its segment"),
            ("{a}-{b?}", "period"),
            ("{x=1?}", "default"),
            ("{*x?}", "optional"),
            ("{a/b}", "Invalid parameter name"),
        ],
    )
    def test_rejected(self, template: str, message: str) -> None:
        with pytest.raises(RouteTemplateError, match=re.escape(message)):
            compile_route(template)

    def test_is_value_error(self) -> None:
        assert issubclass(RouteTemplateError, ValueError)


# ---------------------------------------------------------------- precedence


class TestPrecedence:
    def test_segment_kinds_order(self) -> None:
        literal = compile_route("a")
        complex_ = compile_route("{x}.txt")
        constrained = compile_route("{x:int}")
        plain = compile_route("{x}")
        constrained_catch_all = compile_route("{*x:minlength(1)}")
        catch_all = compile_route("{*x}")
        ordered = [literal, complex_, constrained, plain, constrained_catch_all, catch_all]
        shuffled = [plain, catch_all, literal, constrained_catch_all, constrained, complex_]
        assert sorted(shuffled, key=lambda t: t.precedence) == ordered

    def test_compared_segment_by_segment(self) -> None:
        assert compile_route("a/{x}").precedence < compile_route("{x}/a").precedence

    def _pick(self, templates: list[str], path: str) -> tuple[str, dict[str, str]] | None:
        table: list[tuple[RouteTemplate, str]] = [(compile_route(t), t) for t in templates]
        return best_match(table, path)

    def test_literal_beats_parameter(self) -> None:
        routes = ["orders/{id}", "orders/latest"]
        assert self._pick(routes, "orders/latest") == ("orders/latest", {})
        assert self._pick(routes, "orders/9") == ("orders/{id}", {"id": "9"})

    def test_complex_beats_plain_parameter(self) -> None:
        routes = [
            "models/{modelId}",
            "models/{modelId}:detect-batch",
            "models/{modelId}:detect-last",
        ]
        assert self._pick(routes, "models/m-1:detect-batch") == (
            "models/{modelId}:detect-batch",
            {"modelId": "m-1"},
        )
        assert self._pick(routes, "models/m-1:detect-last") == (
            "models/{modelId}:detect-last",
            {"modelId": "m-1"},
        )
        assert self._pick(routes, "models/m-1") == ("models/{modelId}", {"modelId": "m-1"})

    def test_constrained_beats_plain(self) -> None:
        routes = ["items/{name}", "items/{id:int}"]
        assert self._pick(routes, "items/5") == ("items/{id:int}", {"id": "5"})
        assert self._pick(routes, "items/five") == ("items/{name}", {"name": "five"})

    def test_catch_all_is_last_resort(self) -> None:
        routes = ["{*rest}", "api/{x}"]
        assert self._pick(routes, "api/1") == ("api/{x}", {"x": "1"})
        assert self._pick(routes, "other/1") == ("{*rest}", {"rest": "other/1"})

    def test_tie_goes_to_first_listed(self) -> None:
        routes = ["a/{x}", "a/{y}"]
        assert self._pick(routes, "a/1") == ("a/{x}", {"x": "1"})

    def test_no_match(self) -> None:
        assert self._pick(["a/{x}"], "b/1") is None
        assert best_match([], "x") is None


def test_parameter_names_and_template_kept() -> None:
    template = compile_route("a/{x:int}/{y?}")
    assert template.template == "a/{x:int}/{y?}"
    assert template.parameter_names == ["x", "y"]
