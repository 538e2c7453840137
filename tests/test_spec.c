/* The spec grammar and every error path of the optimizer spec parser, with
   the exact messages a user sees. */
#include "ravine/ravine.h"
#include "check.h"

static void parses_grammar(void)
{
    rv_spec s;
    CHECK_STATUS(rv_spec_parse(" adamw ( lr = 3e-4 , betas=( 0.9,.95 ), amsgrad=True, decay=after ) ",
                               &s),
                 RV_OK);
    CHECK_STR(s.name, "adamw");
    CHECK(s.n_args == 4);
    CHECK_STR(s.text, "adamw(lr=3e-4,betas=(0.9,.95),amsgrad=True,decay=after)");
    CHECK_STR(s.args[0].key, "lr");
    CHECK(s.args[0].value.kind == RV_VALUE_NUMBER);
    CHECK_NEAR(s.args[0].value.number, 3e-4, 0);
    CHECK(s.args[1].value.kind == RV_VALUE_TUPLE && s.args[1].value.n_items == 2);
    CHECK_NEAR(s.args[1].value.items[1].number, 0.95, 0);
    CHECK(s.args[2].value.kind == RV_VALUE_BOOL && s.args[2].value.boolean == 1);
    CHECK(s.args[3].value.kind == RV_VALUE_WORD);
    CHECK_STR(s.args[3].value.word, "after");
    rv_spec_free(&s);

    CHECK_STATUS(rv_spec_parse("sgd", &s), RV_OK);
    CHECK_STR(s.name, "sgd");
    CHECK(s.n_args == 0);
    rv_spec_free(&s);
    CHECK_STATUS(rv_spec_parse("sgd()", &s), RV_OK);
    CHECK(s.n_args == 0);
    rv_spec_free(&s);

    /* nested calls (schedule joins) */
    CHECK_STATUS(rv_spec_parse("then(first=constant(lr=1), second=cosine(lr=1,t_max=5), at=3)", &s),
                 RV_OK);
    CHECK(s.args[0].value.kind == RV_VALUE_CALL);
    CHECK_STR(s.args[0].value.call->name, "constant");
    CHECK_STR(s.args[1].value.text, "cosine(lr=1,t_max=5)");
    rv_spec_free(&s);
    rv_spec_free(&s); /* freeing twice is safe */
}

static void syntax_errors(void)
{
    static const struct {
        const char *text;
        rv_status code;
        const char *msg;
    } cases[] = {
        {"", RV_ERR_SPEC_SYNTAX, "spec '': expected a name at column 1"},
        {"adam(lr=)", RV_ERR_SPEC_SYNTAX, "spec 'adam(lr=)': expected a value at column 9"},
        {"adam(lr=0.1", RV_ERR_SPEC_SYNTAX, "spec 'adam(lr=0.1': expected ',' or ')' at column 12"},
        {"adam(0.1)", RV_ERR_SPEC_SYNTAX,
         "spec 'adam(0.1)': expected key=value (arguments are keywords only) at column 6"},
        {"adam(lr 0.1)", RV_ERR_SPEC_SYNTAX,
         "spec 'adam(lr 0.1)': expected '=' after a key (arguments are keywords only) at column 9"},
        {"adam(lr=1e)", RV_ERR_SPEC_SYNTAX, "spec 'adam(lr=1e)': malformed number at column 9"},
        {"adam(lr=0x10)", RV_ERR_SPEC_SYNTAX, "spec 'adam(lr=0x10)': malformed number at column 9"},
        {"adam(lr=1) x", RV_ERR_SPEC_SYNTAX,
         "spec 'adam(lr=1) x': unexpected text after the spec at column 12"},
        {"adam(betas=(0.9,", RV_ERR_SPEC_SYNTAX,
         "spec 'adam(betas=(0.9,': expected a value, found the end at column 17"},
        {"adam(lr=1, lr=2)", RV_ERR_SPEC_DUPLICATE_KEY, "spec 'adam(lr=1, lr=2)': key 'lr' given twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rv_spec s;
        CHECK_STATUS(rv_spec_parse(cases[i].text, &s), cases[i].code);
        CHECK_STR(rv_errmsg(), cases[i].msg);
        CHECK(s.name == NULL && s.n_args == 0);
    }
}

/* Every kind of optimizer spec error: name, key, type, range, with messages. */
static void optimizer_spec_errors(void)
{
    static const struct {
        const char *text;
        rv_status code;
        const char *msg;
    } cases[] = {
        {"adm(lr=0.1)", RV_ERR_SPEC_UNKNOWN_NAME,
         "spec 'adm(lr=0.1)': unknown optimizer 'adm' (did you mean 'adam'?)"},
        {"lbfgs", RV_ERR_SPEC_UNKNOWN_NAME,
         "spec 'lbfgs': unknown optimizer 'lbfgs' (known: sgd, polyak, adam, adamw, rmsprop, adagrad, nadam, radam, adamax, lion, "
     "adafactor, muon, sfadamw)"},
        {"adam(lrr=0.1)", RV_ERR_SPEC_UNKNOWN_KEY,
         "spec 'adam(lrr=0.1)': unknown key 'lrr' for adam (did you mean 'lr'?)"},
        {"adam(beta1=0.9)", RV_ERR_SPEC_UNKNOWN_KEY,
         "spec 'adam(beta1=0.9)': unknown key 'beta1' for adam (did you mean 'betas'?)"},
        {"sgd(weight_dcay=0.1)", RV_ERR_SPEC_UNKNOWN_KEY,
         "spec 'sgd(weight_dcay=0.1)': unknown key 'weight_dcay' for sgd (did you mean 'weight_decay'?)"},
        {"sgd(zzz=1)", RV_ERR_SPEC_UNKNOWN_KEY,
         "spec 'sgd(zzz=1)': unknown key 'zzz' for sgd (valid keys: lr, momentum, dampening, "
         "weight_decay, nesterov, maximize, state)"},
        {"adam(lr=fast)", RV_ERR_SPEC_TYPE, "spec 'adam(lr=fast)': lr=fast: expected a number"},
        {"adam(amsgrad=1)", RV_ERR_SPEC_TYPE, "spec 'adam(amsgrad=1)': amsgrad=1: expected true or false"},
        {"adam(betas=0.9)", RV_ERR_SPEC_TYPE,
         "spec 'adam(betas=0.9)': betas=0.9: expected a tuple of 2 numbers"},
        {"adam(betas=(0.9,0.99,0.999))", RV_ERR_SPEC_TYPE,
         "spec 'adam(betas=(0.9,0.99,0.999))': betas=(0.9,0.99,0.999): expected a tuple of 2 numbers"},
        {"adamw(decay=later)", RV_ERR_SPEC_RANGE,
         "spec 'adamw(decay=later)': decay=later: expected one of before, after"},
        {"adam(lr=1e999)", RV_ERR_SPEC_RANGE, "spec 'adam(lr=1e999)': lr=1e999: must be finite"},
        {"adam(lr=-1)", RV_ERR_LR, "spec 'adam(lr=-1)': lr must be >= 0, got -1"},
        {"adam(betas=(1.0,0.999))", RV_ERR_BETA1,
         "spec 'adam(betas=(1.0,0.999))': beta1 must be in [0, 1), got 1"},
        {"adam(betas=(0.9,-0.1))", RV_ERR_BETA2,
         "spec 'adam(betas=(0.9,-0.1))': beta2 must be in [0, 1), got -0.1"},
        {"adam(eps=-1e-8)", RV_ERR_EPS, "spec 'adam(eps=-1e-8)': eps must be >= 0, got -1e-08"},
        {"adamw(weight_decay=-0.1)", RV_ERR_WEIGHT_DECAY,
         "spec 'adamw(weight_decay=-0.1)': weight_decay must be >= 0, got -0.1"},
        {"sgd(nesterov=true)", RV_ERR_NESTEROV,
         "spec 'sgd(nesterov=true)': nesterov=true needs momentum > 0 and dampening = 0, got "
         "momentum=0, dampening=0"},
        {"sgd(momentum=0.9, dampening=0.1, nesterov=true)", RV_ERR_NESTEROV,
         "spec 'sgd(momentum=0.9,dampening=0.1,nesterov=true)': nesterov=true needs momentum > 0 "
         "and dampening = 0, got momentum=0.9, dampening=0.1"},
        {"sgd(momentum=1.5)", RV_ERR_MOMENTUM, "spec 'sgd(momentum=1.5)': momentum must be in [0, 1), got 1.5"},
        {"sgd(dampening=2)", RV_ERR_DAMPENING, "spec 'sgd(dampening=2)': dampening must be in [0, 1], got 2"},
        {"polyak(beta=1)", RV_ERR_BETA, "spec 'polyak(beta=1)': beta must be in [0, 1), got 1"},
        {"rmsprop(alpha=1.5)", RV_ERR_ALPHA, "spec 'rmsprop(alpha=1.5)': alpha must be in [0, 1], got 1.5"},
        {"adagrad(lr_decay=-1)", RV_ERR_LR_DECAY, "spec 'adagrad(lr_decay=-1)': lr_decay must be >= 0, got -1"},
        {"adagrad(initial_accumulator_value=-1)", RV_ERR_INITIAL_ACCUMULATOR,
         "spec 'adagrad(initial_accumulator_value=-1)': initial_accumulator_value must be >= 0, got -1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rv_optim *o = (rv_optim *)&cases; /* must stay untouched on failure */
        CHECK_STATUS(rv_optim_create_spec(&o, cases[i].text), cases[i].code);
        CHECK_STR(rv_errmsg(), cases[i].msg);
        CHECK(o == (rv_optim *)&cases);
    }
}

static void defaults_and_format(void)
{
    const rv_optim_type *t;
    rv_hparams h;
    char buf[512];
    static const char *const canonical[] = {
        "sgd(lr=0.001,momentum=0,dampening=0,weight_decay=0,nesterov=false,maximize=false)",
        "polyak(lr=0.001,beta=0.9,weight_decay=0)",
        "adam(lr=0.001,betas=(0.9,0.999),eps=1e-08,weight_decay=0,amsgrad=false,maximize=false)",
        ("adamw(lr=0.001,betas=(0.9,0.999),eps=1e-08,weight_decay=0.01,amsgrad=false,maximize=false,"
         "decay=before)"),
        "rmsprop(lr=0.01,alpha=0.99,eps=1e-08,weight_decay=0,momentum=0,centered=false,maximize=false)",
        "adagrad(lr=0.01,lr_decay=0,weight_decay=0,initial_accumulator_value=0,eps=1e-10,maximize=false)",
        ("nadam(lr=0.002,betas=(0.9,0.999),eps=1e-08,weight_decay=0,momentum_decay=0.004,"
         "decoupled_weight_decay=false,maximize=false)"),
        "radam(lr=0.001,betas=(0.9,0.999),eps=1e-08,weight_decay=0,decoupled_weight_decay=false,maximize=false)",
        "adamax(lr=0.002,betas=(0.9,0.999),eps=1e-08,weight_decay=0,maximize=false)",
        "lion(lr=0.0001,betas=(0.9,0.99),weight_decay=0)",
        "adafactor(lr=0.01,beta2_decay=-0.8,eps=(None,0.001),d=1,weight_decay=0,maximize=false)",
        ("muon(lr=0.001,weight_decay=0.1,momentum=0.95,nesterov=true,"
         "ns_coefficients=(3.4445,-4.775,2.0315),eps=1e-07,ns_steps=5,adjust_lr_fn=original)"),
        "sfadamw(lr=0.0025,betas=(0.9,0.999),eps=1e-08,weight_decay=0,warmup_steps=0,r=0,weight_lr_power=2)",
    };
    size_t n_canonical = sizeof canonical / sizeof canonical[0];
    for (size_t i = 0; rv_optim_type_at(i) && i < n_canonical; i++) {
        CHECK_STATUS(rv_hparams_parse(rv_optim_type_name(rv_optim_type_at(i)), &t, &h), RV_OK);
        CHECK(t == rv_optim_type_at(i));
        rv_hparams_format(t, &h, buf, sizeof buf);
        CHECK_STR(buf, canonical[i]);
        /* the canonical form parses back to the same hyperparameters */
        rv_hparams h2;
        const rv_optim_type *t2;
        CHECK_STATUS(rv_hparams_parse(buf, &t2, &h2), RV_OK);
        CHECK(t2 == t && memcmp(&h, &h2, sizeof h) == 0);
    }
    CHECK(rv_optim_type_at(n_canonical) == NULL);

    /* values that %.9g would round (beta2 to 1, which is invalid) keep all
       their digits, so the canonical spec parses back to the same bits */
    CHECK_STATUS(rv_hparams_parse("adam(lr=0.1234567891, betas=(0.9,0.9999999999))", &t, &h), RV_OK);
    rv_hparams_format(t, &h, buf, sizeof buf);
    CHECK_STR(buf, "adam(lr=0.12345678910000001,betas=(0.9,0.99999999989999999),eps=1e-08,"
                   "weight_decay=0,amsgrad=false,maximize=false)");
    {
        rv_hparams back;
        const rv_optim_type *tb;
        CHECK_STATUS(rv_hparams_parse(buf, &tb, &back), RV_OK);
        CHECK(back.lr == h.lr && back.beta2 == h.beta2);
    }
    /* an enum out of its range (unvalidated hyperparameters) prints as a number */
    h = rv_adamw_defaults();
    h.decay = 7;
    h.state = (rv_precision)5;
    rv_hparams_format(rv_adamw, &h, buf, sizeof buf);
    CHECK(strstr(buf, ",decay=7,") != NULL && strstr(buf, ",state=5)") != NULL);
    CHECK(rv_optim_type_find("adamw") == rv_adamw);
    CHECK(rv_optim_type_find("ADAMW") == NULL);

    CHECK_STATUS(rv_hparams_parse("adamw(lr=3e-4, betas=(0.9,0.95), weight_decay=0.1, decay=after)", &t, &h),
                 RV_OK);
    CHECK(t == rv_adamw && h.lr == 3e-4 && h.beta1 == 0.9 && h.beta2 == 0.95 &&
          h.weight_decay == 0.1 && h.decay == RV_DECAY_AFTER && h.eps == 1e-8);

    /* overrides keep the rest */
    h = rv_sgd_defaults();
    h.momentum = 0.9;
    CHECK_STATUS(rv_hparams_override(rv_sgd, &h, "lr=0.5, nesterov=true"), RV_OK);
    CHECK(h.lr == 0.5 && h.momentum == 0.9 && h.nesterov == 1);
    rv_hparams before = h;
    CHECK_STATUS(rv_hparams_override(rv_sgd, &h, "momentum=0"), RV_ERR_NESTEROV);
    CHECK(memcmp(&h, &before, sizeof h) == 0);
}

static void strerror_covers_every_code(void)
{
    for (int c = 0; c < RV_STATUS_COUNT; c++)
        CHECK_MSG(strcmp(rv_strerror((rv_status)c), "unknown status code") != 0, "code %d", c);
    CHECK_STR(rv_strerror(RV_STATUS_COUNT), "unknown status code");
    CHECK_STR(rv_strerror(RV_ERR_BETA2), "invalid beta2");
    rv_clear_error();
    CHECK_STR(rv_errmsg(), "");
}

static void closest_word(void)
{
    static const char *const words[] = {"lr", "momentum", "weight_decay", NULL};
    CHECK_STR(rv_closest_word("momentun", words), "momentum");
    CHECK_STR(rv_closest_word("LR", words), "lr");
    CHECK(rv_closest_word("completely_different", words) == NULL);
}

int main(void)
{
    parses_grammar();
    syntax_errors();
    optimizer_spec_errors();
    defaults_and_format();
    strerror_covers_every_code();
    closest_word();
    return check_summary("spec");
}
