"""Vocabulary of the topics stage: word families and trap phrases that monitor/topics.py matches."""

from __future__ import annotations


def any_of(*alternatives: str) -> str:
    return "|".join(alternatives)


# ---------------------------------------------------------------------------------------------
# Vocabulary: word families (inflections spelled out, so "shares", "shared", "sharing" all match),
# matched on the lower-cased text. A rule below fires on one family alone, or on two families
# within a window of words (a sharing verb near a recipient, a storage verb near a duration).
# ---------------------------------------------------------------------------------------------

_DATA = any_of(
    r"information|info|data|details|pii|records?|profiles?|identifiers?|histor(?:y|ies)|statistics",
    r"e-?mail address(?:es)?", r"personally identifiable",
    r"(?:customer|mailing|subscriber|member|donor|contact|marketing) lists?", r"contacts",
    r"(?:credit |debit |payment )?card (?:numbers?|details)", r"content", r"messages", r"communications",
)
_RECIPIENT = any_of(
    r"third[- ]?part(?:y|ies)(?:'s|')?", r"affiliat(?:e|es|ed)(?: (?:companies|entities))?",
    r"subsidiar(?:y|ies)", r"group (?:companies|entities|members)", r"(?:family|group) of companies",
    r"partners?", r"advertis(?:ers?|ing (?:networks?|companies|platforms))", r"ad networks?",
    r"marketers", r"providers?", r"vendors?", r"suppliers?", r"contractors?", r"employers?",
    r"processors?", r"sub-?processors?", r"data brokers?", r"brokers?", r"resellers?", r"recipients?",
    r"(?:outside|other|unaffiliated|external|non-?affiliated|trusted|selected|specific) (?:[\w-]+ ){0,2}"
    r"(?:companies|parties|organi[sz]ations|entities|businesses|firms)",
    r"law enforcement(?: agencies| authorities| officials)?", r"police",
    r"government(?:al)?(?: agenc(?:y|ies)| authorit(?:y|ies)| bodies| officials)?",
    r"(?:public|competent|regulatory|tax|judicial|relevant) (?:authorit(?:y|ies)|organs|bodies)",
    r"authorit(?:y|ies)", r"regulators?", r"courts?", r"(?:prospective )?(?:buyers?|purchasers?|acquirers?)",
    r"successors?", r"parent company", r"sponsors?", r"insurers?", r"agents", r"entrusted part(?:y|ies)",
    r"contractors?", r"sub-?contractors?", r"couriers?",
    r"outsourc(?:ed|ing) (?:\w+ )?(?:teams?|providers?|companies|partners?|staff|agents?|cent(?:re|er)s?)",
    r"carriers?", r"agenc(?:y|ies)", r"charit(?:y|ies)",
    r"(?:hosting|cloud|storage|payment|e-?mail|mailing|shipping|delivery|logistics|marketing|advertising|analytics|"
    r"call cent(?:re|er)) (?:company|firm|provider|vendor|partner|service provider)",
    r"(?:professional )?advis[eo]rs?", r"auditors?", r"lawyers", r"accountants", r"consultants?",
    r"(?:account |workspace |organi[sz]ation(?:'s)? |your |an |the )administrators?",
    r"(?:app |third[- ]party )?developers",
    r"(?:coalition|programme|program|network|group|alliance) (?:members|partners)",
    r"(?:marketing|advertising|analytics|insurance|technology|logistics|delivery|shipping|payment|travel|"
    r"telecommunications?|research|credit card|credit information|financial services) (?:companies|firms|agencies|"
    r"partners|providers|"
    r"networks|processors?|services|organi[sz]ations)",
    r"(?:fraud prevention|credit reference|credit reporting|collection) agenc(?:y|ies)",
    r"(?:credit|consumer reporting) bureaus?",
    r"(?:these|such|those) (?:companies|parties|entities|organi[sz]ations|businesses)",
    r"(?:to|with) (?:other |certain |selected |trusted |reputable )?(?:companies|organi[sz]ations|businesses)",
    r"(?:to|with) (?:\w+ ){0,2}(?:companies|firms|organi[sz]ations|institutions|entities)",
    r"(?:credit reporting|credit reference|financial|lending|banking) institutions?", r"joint controllers?",
    r"non-?affiliates", r"customs(?: and border protection)?", r"border (?:protection|agenc(?:y|ies)|force)",
    r"immigration (?:authorities|officials|services)", r"municipalit(?:y|ies)", r"local authorit(?:y|ies)",
    r"(?:to|with) our (?:business )?clients",
    r"(?:human |outside |external )reviewers", r"search partners?",
    r"measurement companies", r"research(?:ers| partners| institutions)", r"sellers", r"merchants",
    r"social (?:media )?(?:networks?|platforms?)", r"search engines", r"(?:to|with) the public",
)
_BRAND = any_of("facebook", "google", "meta", "amazon", "apple", "microsoft", "twitter", "tiktok", "wechat",
               "paypal", "stripe", "braintree", "adyen", "klarna", "mailchimp", "sendgrid", "salesforce", "zendesk",
               "hubspot", "twilio", "intercom", "shopify", "cloudflare", "aws", "amazon web services", "azure",
               "google cloud", "youtube", "vimeo", "linkedin", "instagram", "pinterest", "snapchat", "spotify",
               "apple health", "google fit", "line", "kakao", "naver", "baidu", "alibaba", "tencent")
_TRACKER = any_of(
    r"google analytics", r"(?:facebook|meta) pixel", r"unity ads", r"applovin", r"ironsource", r"firebase",
    r"sentry", r"bugsnag", r"datadog", r"new relic", r"amplitude",
    r"crashlytics", r"appsflyer", r"mixpanel",
    r"doubleclick", r"admob", r"hotjar", r"adjust sdk", r"adsense", r"adwords", r"google ads", r"remarketing",
    r"retargeting", r"social media features?", r"(?:web )?analytics (?:services|tools|vendors)",
    r"third[- ]party (?:sdks?|cookies|trackers?|tracking|analytics|advertising|plug-?ins|pixels|tags|"
    r"scripts|code|services)",
    r"social (?:media )?plug-?ins", r"like buttons?",
    r"(?:advertising|analytics|tracking|measurement) (?:sdks?|pixels|partners|networks|providers|companies)",
    r"software development kits?", r"sdks?", r"cross-context behaviou?ral advertising",
    r"embedded (?:\w+ ){0,2}(?:content|videos?|players?|maps?|widgets?|posts?|tweets?|forms?)",
    r"(?:facebook|twitter|google|linkedin|pinterest|tiktok|instagram|youtube|social|sharing)(?: (?:and|or) "
    r"(?:facebook|twitter|google|linkedin|pinterest|tiktok|instagram|youtube))? (?:plug-?ins|buttons|widgets|"
    r"pixels?|sdks?)",
)

_GIVE = any_of(r"pass(?:es|ed|ing)?", r"suppl(?:y|ies|ied|ying)", r"furnish(?:es|ed|ing)?", r"provid(?:e|es|ed|ing)",
             r"submit(?:s|ted|ting)?",
             r"giv(?:e|es|en|ing)",
             r"hand(?:s|ed|ing)?(?: over)?", r"sen(?:d|ds|t|ding)", r"transfer(?:s|red|ring)?", r"upload(?:s|ed|ing)?",
             r"forward(?:s|ed|ing)?", r"transmit(?:s|ted|ting)?", r"disclos(?:e|es|ed|ing)", r"releas(?:e|es|ed|ing)",
             r"(?:make|made) available")
_GIVEN = any_of(r"pass(?:es|ed)?", r"provided", r"given", r"handed(?: over)?", r"sent", r"transferred", r"uploaded",
              r"reported", r"released", r"supplied",
              r"forwarded", r"transmitted", r"disclosed", r"released", r"made available", r"shared with")
_NOUN = (r"(?:information|info|data|details|records?|histor(?:y|ies)|pii|statistics|names?|results|scores|grades|"
         r"cvs?|r[ée]sum[ée]s?|photos?|photographs|recordings?|readings|locations?|answers|responses|applications|lists|"
         r"(?:e-?mail|postal|delivery|shipping|billing|home|ip) address(?:es)?|(?:phone|telephone|mobile) numbers?)")
# a determiner and a noun that is not the service itself, the user, a place or an abstract purpose
_THEM = (r"(?:the|a|an|your|their|another|other|any|these|those|that|this|each|such|relevant|appropriate|selected)"
         r"(?: new)? (?!(?:extent|purposes?|service|services|app|site|website|servers?|cloud|device|account|"
         r"page|form|internet|public interest|united|european|eea|eu|uk|us|country|countries|time|date|end|point|"
         r"best|fullest|degree|same|following|law|client|browser|user|users|customer|data subject|person concerned|"
         r"in|of|on|at|for|who|which|that|we|you)"
         r"\b)\w+")

TERMS: dict[str, str] = {
    "data": _DATA,
    "recipient": _RECIPIENT,
    "brand": any_of(_BRAND, r"(?:to|with) others"),  # named or vague recipients: only with share/sell verbs
    "tracker": _TRACKER,
    "sell": any_of(r"sell(?:s|ing)?", r"sold", r"sales? of", r"rent(?:s|ed|ing)?", r"leas(?:e|es|ed|ing)",
                 r"trad(?:e|es|ed|ing)", r"moneti[sz](?:e|es|ed|ing)", r"barter(?:s|ed)?"),
    "share": any_of(r"shar(?:e|es|ed|ing)", r"disclos(?:e|es|ed|ing|ures?)", r"reveal(?:s|ed|ing)?",
                  r"redisclos(?:e|es|ed|ing|ures?)", r"furnish(?:es|ed|ing)?",
                  r"distribut(?:e|es|ed|ing)", r"releas(?:e|es|ed|ing)", r"published",
                  r"(?:make|makes|made|making) (?:[\w'()-]+,? ){0,8}available",
                  r"communicat(?:e|es|ed|ing) (?:your |the |such )?(?:personal )?(?:data|information)",
                  r"hand(?:s|ed|ing)? (?:over|on)", r"pass(?:es|ed|ing)? (?:on|along)", r"giv(?:e|es|en|ing)"),
    "disclose": r"disclos(?:e|es|ed|ing|ures?)",
    "flow": any_of(
        r"shar(?:e|es|ed|ing)", r"disclos(?:e|es|ed|ing|ures?)", r"transfer(?:s|red|ring)?",
        r"provid(?:e|es|ed|ing)", r"giv(?:e|es|en|ing)", r"pass(?:es|ed|ing)?", r"releas(?:e|es|ed|ing)",
        r"transmit(?:s|ted|ting)?", r"send(?:s|ing)?", r"sent", r"forward(?:s|ed|ing)?", r"report(?:s|ed|ing)?",
        r"upload(?:s|ed|ing)?", r"hand(?:s|ed|ing)?", r"ask(?:s|ed)? (?:us )?for", r"publish(?:es|ed|ing)?",
        r"(?:make|made|making) (?:\w+ )?available", r"access(?:es|ed|ing)?", r"receiv(?:e|es|ed|ing)",
        r"obtain(?:s|ed|ing)?", r"collect(?:s|ed|ing)?", r"suppl(?:y|ies|ied|ying)", r"gather(?:s|ed|ing)?",
        r"process(?:es|ed|ing)?",
        r"us(?:e|es|ed|ing)", r"track(?:s|ed|ing)?", r"combin(?:e|es|ed|ing)", r"exchang(?:e|es|ed|ing)",
        r"entrust(?:s|ed|ing)?", r"learn(?:s|ed)?", r"see", r"visible", r"accessible",
        r"sell(?:s|ing)?", r"sold", r"handl(?:e|es|ed|ing)", r"host(?:s|ed|ing)?", r"employ(?:s|ed)?",
        r"stor(?:e|es|ed|ing)",
        r"hir(?:e|es|ed)", r"engag(?:e|es|ed)", r"work(?:s|ed)? with", r"partner(?:s|ed)? with", r"rel(?:y|ies) on",
        r"go(?:es)? to", r"serv(?:e|es|ed|ing) (?:ads|advertisements)",
        r"log(?:s|ged|ging)?(?! (?:in|on|into|out|off)\b)",
    ),
    # disclosure tables and labels: "Does First Bank share? No", "Shared: no", "Sold or shared: no"
    "share_table": any_of(r"does (?:[\w&'.-]+ ){1,4}share\b", r"can you limit this sharing",
                          r"shared(?: or sold)?:? (?:yes|no)\b", r"sold(?: or shared)?:? (?:yes|no)\b",
                          r"data shared with third parties",
                          r"we (?:do not |don't )?share,? and you (?:can|cannot|can't)(?: not)? limit",
                          r"(?:is|are) (?:not|never) shared with anyone", r"no data shared"),
    # data handed to someone the text names: "sent to PayPal", "hosted by AWS", "accessed by our subcontractors"
    "handover": any_of(
        r"(?:sent|passed|provided|disclosed|transferred|transmitted|forwarded|made available|uploaded|"
        r"synchroni[sz]ed|synced|shared|exchanged|pooled|combined|matched|checked|verified) (?:\w+ ){0,2}(?:to|with)",
        r"(?:hosted|processed|stored|handled|collected|read|seen|accessed|viewed|used|received|analy[sz]ed|searched|"
        r"downloaded) "
        r"(?:\w+,? ){0,3}by", r"receiv(?:e|es|ed|ing) (?:your|the|this|these|such|any)",
        r"(?:check|verify|search)(?:es|s|ed|ing)? (?:\w+ ){0,4}(?:with|at)"),
    # data kept on someone else's machines: "held on Mailchimp's servers"
    "hosted_elsewhere": r"(?:hosted|stored|held|kept|processed|saved) (?:\w+ ){0,2}on (?!(?:company|organi[sz]ation|"
                        r"website|site|service|app|platform|firm|business|group)(?:'s|')\s)\w+(?:'s|') "
                        r"(?:servers|systems|platforms?|infrastructure|cloud)",
    # someone other than the service getting the user's data: "the hotel receives your name"
    "others_receive": any_of(
        rf"(?:the|your|their|these|such|this|that|each|any) (?!(?:service|services|site|website|app|platform|"
        rf"company|system|systems|we|us|users?|customers?|members?|subscribers?|applicants?|candidates?|"
        rf"patients?|account holders?|data subjects?|individuals?|persons?)\b)\w+(?:'s)?(?: \w+){{0,4}} "
        rf"(?:receives?|will receive|may receive|gets?|"
        rf"can see|will see|may see|sees|(?:has|have|will have|may have|gets|get) access to|can access|may access|"
        rf"will access|(?:will|may|can) be (?:informed|notified|told) (?:of|about)) (?:\w+ ){{0,3}}{_NOUN}"),
    # disclosure to the public
    "public": any_of(
        r"(?:instructors?|teachers?|tutors?|coaches?|drivers?|hosts?|landlords?|employers?|recruiters?|moderators?|"
        r"organi[sz]ers?|other (?:users|members|players|participants|"
        r"customers|riders|guests|students|lenders|insurers|companies|organi[sz]ations|businesses)) "
        r"(?:\w+ ){0,2}(?:can|may|will|are able to|will be able to|may be able to) (?:see|view|access|receive)",
        r"(?:retailers?|merchants?|dealers?|parents?) (?:\w+ ){0,2}(?:can|may|will|will be able to) "
        r"(?:log in (?:and|to) )?(?:see|view|"
        r"access|receive) (?:your|their|what (?:you|they)|who|the (?:\w+ )?(?:purchases|activity|messages|history|"
        r"information|data|details|location|points))",
        r"(?:advertisers?|partners?|sponsors?|third parties|retailers?|merchants?) (?:do not |don't |never |will not |"
        r"won't )?(?:get|receive|see) (?:your|their|any) ",
        r"(?:shows?|displays?) your (?:[\w'-]+ ){0,5}to (?:everyone|anyone|other players|all players|the public|"
        r"all users)",
        r"(?:sold|sell|rented|disclosed?|transferred) to any (?:other )?(?:person|individual|"
        r"organi[sz]ation|company|third party)",
        r"(?:appear|appears|listed|published|included) in (?:the |a |our )?(?:phone ?book|telephone directory|"
        r"(?:(?:members'?|staff|online|public|alumni|business|printed|and|telephone|phone) ){0,3}director(?:y|ies))",
        r"(?:make|makes|made|making) (?:\w+ ){0,3}public",
        r"publicly (?:available|visible|accessible|displayed|posted)",
        r"(?:seen|viewed|read|accessed|collected|indexed|copied|used) (?:\w+,? ){0,4}by (?:anyone|everyone|"
        r"the public|other users|search engines|others|the general public|(?:any|all|every)(?: other)? (?:users?|"
        r"players?|members?|visitors?|participants?|people|person|customers?)|other (?:players|members|visitors|"
        r"participants|people|customers))",
        r"(?:published|posted|(?:displayed|shown|listed) (?:[\w'-]+ ){0,2}(?:on|in) (?:the |our |a )?"
        r"(?:public |product |profile )?(?:leaderboards?|galler(?:y|ies)|forums?|director(?:y|ies)|feeds?|websites?|"
        r"site|profile pages?|product pages?)) (?:[\w'-]+,? ){0,5}(?:along )?with your (?:first |full |last |user ?)?"
        r"(?:names?|usernames?|photos?|pictures?|city|town|location|initials)",
        r"(?:visible|available|accessible|displayed|shown) to (?:anyone|everyone|the public|other users|all users|"
        r"other members|(?:only )?(?:to )?(?:registered |all )?members|others|the general public|"
        r"your (?:game |in-game )?(?:friends|followers|contacts|connections)|"
        r"other players)(?! (?:below|under|younger|older|who|in|outside|aged?)\b)",
        r"indexed by search engines", r"(?:public )?whois",
        r"(?:feature|use|post|publish|display)\w* (?:\w+ ){0,6}(?:pictures|photos|photographs|images|videos)"
        r"(?: \w+){0,6} (?:on|in) (?:our|my|the) (?:website|site|instagram|facebook|social media|annual report|"
        r"newsletter|blog)",
        r"(?:photographs?|photos?|pictures|images) (?:\w+ ){0,8}(?:posted|published|shared) (?:online|on (?:our|the) "
        r"(?:website|site|social media))",
        r"post (?:your |the )?(?:pictures|photos|images|videos|names?|stories|testimonials?) (?:\w+ ){0,4}(?:on|to) "
        r"(?:my|our|the) (?:blog|website|site|instagram|facebook|social media|page)",
        r"public (?:forums?|profiles?|areas|spaces|chat rooms?|message boards|bulletin boards|directory|"
        r"leaderboards?|galleries|feeds?|timelines?)",
        r"(?:posts?|postings|content|profiles?|comments?|reviews?|usernames?|photos?) (?:\w+ ){0,2}(?:is|are|will be|"
        r"may be|become|becomes) (?:made )?public(?:ly (?:available|visible|accessible))?",
        r"(?:names?|photos?|pictures?|likeness|comments?|reviews?|testimonials?|usernames?|profiles?) (?:\w+ ){0,3}"
        r"(?:appear|be (?:displayed|listed|published|shown|posted|featured))"),
    "ownpolicy": any_of(
        r"(?:their|its|his|her) own (?:\w+ )?(?:privacy )?(?:terms|policies|policy|notices?|statements?|practices)",
        r"(?:governed by|subject to) (?:the |their |its |\w+'s )?(?:\w+ )?privacy "
        r"(?:policy|policies|notices?|statements?)",
        r"(?:their|its) privacy (?:policy|policies|notices?|statements?) (?:applies|apply|governs?)",
        r"privacy polic(?:y|ies) of (?:those|these|that|the) (?:services|companies|providers|parties|sites)"),
    "student": r"students?|pupils?",
    "school": r"schools?|teachers?|classrooms?|educators?|(?:school|your) districts?",
    "thirdparty": any_of(r"third[- ]?part(?:y|ies)(?:'s|')?",
                       r"(?:our|its) (?:\w+ )?(?:sub-?)?processors\b", r"sub-?processors?\b",
                       r"entrust(?:s|ed|ing)? (?:the )?processing",
                       r"(?:stores?|process(?:es)?|handles|hosts|holds) (?:your |the |them |it |this )?(?:\w+ ){0,6}"
                       r"(?:for|on behalf of) us\b",
                       r"(?:process|handl)\w* (?:\w+ ){0,3}on behalf of (?:the )?(?:company|operator|controller)",
                       r"(?:processed|handled|hosted|stored|managed|administered|carried out|performed) "
                       r"(?:by \w+(?: \w+)? )?on (?:our|its) behalf",
                       r"(?:companies|individuals|parties|providers|vendors|contractors|processors) (?:\w+ ){0,6}"
                       r"on (?:our|its) behalf"),
    "othersite": any_of(r"(?:other|third[- ]party|external|linked|outside) (?:websites?|web sites?|sites|apps|"
                      r"applications|services|platforms)", r"links? to (?:other|third[- ]party|external)"),
    "practice": any_of(r"privacy (?:practices|policies|statements|notices)", r"(?:their|its) own (?:terms|policies)",
                     r"not responsible", r"no control", r"collect\w*", r"us(?:e|es|ed|ing)", r"track\w*"),
    "bizsale": any_of(r"mergers?", r"acquisitions?", r"bankruptcy", r"insolvency", r"reorgani[sz]ations?",
                    r"new owners?", r"sell (?:the|our|my) (?:game|app|business|company|site|website|service)",
                    r"sold (?:the|our|my) (?:game|app|business|company|site|website|service)",
                    r"business transfers?",
                    r"divestitures?", r"asset (?:sales?|transfers?)", r"corporate transactions?",
                    r"change of (?:control|ownership)", r"sale of (?:all|some|part|a portion|substantially all)"
                    r"(?: or (?:a portion|part|some))?(?: of)? (?:our|its|the company's) (?:assets|business)"),
    "legal": any_of(r"subpoenas?", r"court orders?", r"legal process", r"search warrants?", r"legal requests?",
                  r"(?:government|law enforcement|data) requests", r"transparency report",
                  r"(?:categories of )?recipients? of (?:the |your )?(?:personal )?(?:data|information)",
                  r"requests? (?:\w+ ){0,2}from (?:\w+ ){0,2}"
                  r"(?:law enforcement|police|government|authorities|courts?)"),
    # data handed to someone named by an open-class noun: "pass your health data to your GP"
    "giveto": any_of(
        rf"(?:{_GIVE})(?! by\b) (?:[\w'-]+,? ){{0,6}}{_NOUN}(?:,? [\w'-]+){{0,6}} to {_THEM}",
        rf"(?:{_GIVE})(?! by\b) (?:[\w'-]+,? ){{0,6}}{_NOUN}(?:,? [\w'-]+){{0,6}} to (?:that|those|the (?:other|linked|"
        rf"connected|third-party|partner)) (?:services?|apps?|platforms?|assistants?|devices?|accounts?)",
        rf"shar(?:e|es|ed|ing) (?:\w+ ){{0,3}}{_NOUN}(?: \w+){{0,3}} with {_THEM}",
        rf"(?:we|us) (?:\w+ )?shar(?:e|es|ed|ing) (?:[\w'-]+,? ){{0,8}}(?:{_NOUN}|vins?|codes|ids|identifiers|"
        rf"numbers|mileage|activity|usage|profiles?)(?:,? [\w'-]+){{0,10}} with {_THEM}",
        rf"{_NOUN}(?:,? \w+){{0,10}} (?:{_GIVEN}) (?:on |over )?(?:to )?{_THEM}",
        rf"(?:{_GIVE})(?! by\b) (?:your|their|the user's|the customer's|the (?:relevant |necessary |required |"
        rf"following )?(?:details|information|data|records)) (?:[\w'&-]+,? ){{0,6}}?(?:{_NOUN}|particulars|numbers?|"
        rf"codes|mileage|history|position|times|balance)(?:,? [\w'&-]+){{0,8}} to "
        rf"(?!(?:the|a|your) (?:e-?mail|mail|postal|friend|address)\b)(?:{_THEM}|our "
        rf"(?:[\w-]+ )?(?:partners?|providers?|vendors?|affiliates?|processors?|agents?)|hm revenue|hmrc|the irs|"
        rf"(?:the )?emergency services|(?:the )?(?:tax|revenue) (?:authorit(?:y|ies)|office|agency))",
        rf"(?:give|gives|giving|send|sends|sending|pass|passes|show|shows) (?:it|them|(?:the|your|our|each|that|this) "
        rf"(?!(?:user|users|customer|customers)\b)[\w'-]+(?: [\w'-]+)?) your (?:[\w'-]+ )?{_NOUN}",
        rf"shar(?:e|es|ed|ing) (?:this|it|them|that|these) (?:information |data |details )?with {_THEM}"),
    # retention
    "keep": any_of(r"retain(?:s|ed|ing)?", r"retention", r"keep(?:s|ing)?", r"kept", r"preserv(?:e|es|ed|ing)",
                 r"hold(?:s|ing)? onto", r"held onto"),
    # "hold"/"held" but not "hold a degree", "held in a client account", "held liable"
    "store": any_of(r"stor(?:e|es|ed|ing|age)",
                    r"hold(?:s|ing)?(?! (?:a|an|regular|training|the power|harmless|liable|events?|meetings?)\b)",
                    r"held(?! (?:in|at) (?:a|an)\b| (?:liable|responsible|events?|meetings?)\b)",
                    r"maintain(?:s|ed|ing)?",
                  r"remain(?:s|ed)?", r"persist(?:s|ed)?", r"saved?", r"archived",
                  r"(?:stay|stays|stayed|kept|held|remains?) on (?:file|record)",
                  r"(?:stay|stays|remain|remains) in our (?:\w+ )?(?:systems?|databases?|records|files)"),
    "duration": any_of(
        r"as long as", r"so long as", r"until", r"no longer (?:than|necessary|needed|required|need)",
        r"longer than", r"longer periods?", r"(?:retention|storage|limited|reasonable|certain|specific|set|"
        r"fixed|minimum|maximum|statutory) periods?", r"periods? of (?:time|\d+)",
        r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve|eighteen|thirty|sixty|ninety)"
        r"[- ](?:days?|weeks?|months?|years?|hours?)", r"indefinite(?:ly)?", r"permanent(?:ly)?", r"how long",
        r"for the duration", r"for the life", r"lifetime", r"time (?:necessary|needed|required)",
        r"(?:necessary|needed|required) (?:to|for) (?:fulfil|fulfill|achieve|the purposes?)",
        r"(?:after|upon|following|once|when|if) (?:[\w']+ ){0,2}(?:account|subscription|contract|relationship|"
        r"membership) (?:\w+ )?(?:clos|cancel|delet|terminat|end|expir|deactivat)\w*",
        r"(?:after|upon|following|once|when|if) (?:\w+ ){0,3}(?:clos|cancel|delet|terminat|deactivat)\w* "
        r"(?:\w+ ){0,2}(?:account|subscription|membership|contract)",
        r"(?:account|contract|subscription) (?:closure|cancell?ation|deletion|termination)",
        r"(?:period|periods) (?:expires?|ends?|lapses?)",
        r"(?:once|when|after|as soon as) (?:\w+ ){0,4}(?:is|are|has been|have been|was|were) (?:\w+ )?(?:complete|"
        r"completed|finished|fulfilled|delivered|processed|resolved|closed|verified|sent|settled|over|returned)",
        r"(?:upon|after|following|on) (?:the )?(?:expiration|expiry|termination|end)(?: or (?:expiration|expiry|"
        r"termination))? of (?:the|this|your|our) (?:\w+ )?(?:agreement|contract|subscription|account|services?)",
        r"(?:appropriate|applicable) (?:retention )?periods?",
        r"no longer (?:have|has) (?:a |any )?(?:\w+ ){0,2}need",
        r"(?:inactive|dormant|unused) (?:for|accounts?|after)",
        r"(?:considered|deemed|become|becomes) (?:inactive|dormant)",
        r"(?:not|never) (?:\w+ ){0,2}(?:logged|signed) (?:in|on|into) (?:\w+ ){0,3}for",
        r"periods? for which",
        r"criteria used to determine", r"expir(?:y|ation|es)", r"overwritten",
        r"(?:after|once|when) you (?:leave|stop using|cancel|close|unsubscribe|end|terminate)",
    ),
    "delete": any_of(r"delet(?:e|es|ed|ing|ion)", r"eras(?:e|es|ed|ing|ure)", r"destroy(?:s|ed|ing)?",
                   r"destruction", r"purg(?:e|es|ed|ing)", r"dispos(?:e|es|ed|al) of", r"cleared",
                   r"anonymi[sz](?:e|es|ed|ing|ation)", r"de-?identif(?:y|ies|ied|ication)",
                   r"irreversibly", r"remov(?:e|es|ed|ing|al)", r"overwrit\w+", r"shred(?:s|ded|ding)?",
                   r"discard(?:s|ed|ing)?",
                   r"wip(?:e|es|ed|ing)(?! (?:down|clean)\b)",
                   r"rolled over", r"roll(?:s|ing)? over"),
    "backup": any_of(r"back-?ups?", r"backup (?:copies|systems|media|archives)", r"residual copies",
                   r"archived? cop(?:y|ies)", r"archives"),
    "nostore": any_of(r"(?:do|does|did|will|shall) not (?:\w+ )?(?:store|retain|keep|save|hold)",
                    r"(?:is|are|will be|won't be) (?:not|never) (?:stored|retained|kept|saved)",
                    r"never (?:store|retain|keep|save)s?"),
    "retention_strong": any_of(
        r"data retention", r"records retention", r"retention (?:periods?|polic(?:y|ies)|schedules?|times?|"
        r"requirements?|rules?|limits?)", r"storage (?:periods?|duration|limitation|deadlines?)",
        r"how long (?:\w+ ){0,3}(?:keep|retain|store|hold|kept|retained|stored|held)",
        r"lifecycle management",
        r"deleted (?:after|within)", r"automatically deleted", r"retained for", r"kept for", r"stored for",
        r"(?:deleted|erased|removed|purged|destroyed|anonymi[sz]ed|overwritten|shredded|wiped|discarded) "
        r"(?:\w+ ){0,5}"
        r"(?:once|as soon as|after|within)(?! you\b| your request)",
        r"(?:determine|decide|set) (?:\w+ ){0,2}(?:appropriate |applicable )?(?:retention )?periods?",
        r"(?:we|will|shall) (?:\w+ ){0,2}(?:delete|erase|destroy|purge|discard|anonymi[sz]e) (?:\w+ ){0,6}"
        r"(?:within (?:\d|one|two|three|seven|ten|thirty|sixty|ninety|a )|once (?:the|its|their|that|this) |"
        r"as soon as (?:the|its|their|that|this) (?:\w+ ){0,2}"
        r"(?:purpose|period|retention|relationship|contract|account))",
        r"(?:delete|destroy|erase|purge)\w* (?:\w+ ){0,4}without (?:undue )?delay (?:when|once|after|as soon as)",
        r"within (?:\w+ ){0,2}(?:\(\d+\) )?(?:days?|weeks?|months?|hours?|years?),? we (?:will|shall) (?:\w+ )?"
        r"(?:delete|erase|destroy|purge|anonymi[sz]e)", r"automatically (?:delete|erase|purge|destroy|anonymi[sz]e)",
        r"(?:retain|keep|store|hold)\w* (?:[\w(),]+ ){0,14}for (?:at least|a minimum of|up to|no more than|"
        r"no longer than|as long as|so long as) (?:\w+ ){0,2}(?:days?|weeks?|months?|years?|your|the|we|it|you)\b",
        r"(?:retained|kept|stored|held) (?:\w+ ){0,3}while (?:your |the )?(?:account|subscription|contract|membership) "
        r"(?:is|remains) (?:active|open|in force)",
        r"(?:deletes|erases|destroys|purges|discards) (?:\w+ ){0,4}"
        r"(?:immediately|promptly|as soon as|within|after|once)",
    ),
    "keep_noun": r"retention|storage|retained|kept",
    "storage_heading": any_of(r"(?:information|data) storage", r"how (?:we|do we|long) (?:\w+ )?(?:store|keep|retain)",
                            r"storage of (?:your )?(?:personal )?(?:information|data)"),
    # minors
    "minors": any_of(
        r"child(?:ren(?:'s|s')?|'s)?", r"kids?", r"minors?(?:'s|')?", r"teen(?:s|agers?)?", r"teen-?age(?:d|rs?)?",
        r"juveniles?", r"youths?", r"young (?:people|persons|users|children|audiences)", r"under-?age",
        r"coppa", r"parental", r"families policy", r"designed for families", r"kids category",
        r"parents?(?: or|,| and|/) (?:a )?(?:legal )?guardians?", r"guardians?",
        r"parents?'?", r"age[- ](?:verification|gate|gating|limits?|thresholds?|requirements?|"
        r"restrictions?|assurance|appropriate|estimation|checks?)",
        r"(?:minimum|legal|required|digital|statutory) age", r"age of (?:majority|consent|digital consent|\d\d?)",
        r"(?:under|over|below|above|younger than|older than)(?: the age of)? \d\d?(?!\d|[.,:]\d)"
        r"(?! ?(?:%|percent|days?|weeks?|months?|hours?|minutes?|seconds?|miles?|km|kb|mb|gb|dollars?|"
        r"euros?|usd|eur|items?|employees?|people|users|times|million|billion|countries|years?(?! old| of age)))"
        r"(?! (?!years\b|unless\b|does\b|has\b|was\b|is\b|always\b|as\b|us\b|this\b|plus\b)[a-z]{2,}s\b)",
        r"(?:under|over|below|above|younger than|older than)(?: the age of)? (?:thirteen|fourteen|fifteen|"
        r"sixteen|seventeen|eighteen|nineteen|twenty-one)", r"age of (?:thirteen|fourteen|sixteen|eighteen)",
        r"(?:\d\d?|thirteen|sixteen|eighteen) (?:years? (?:old|of age)|or (?:older|over|up|above|younger|under)|"
        r"and (?:older|over|up|above|younger|under))", r"\d\d ?\+", r"aged? \d\d?(?!\d)", r"k-12", r"pupils?",
        r"(?:between )?the ages? of \d{1,2} (?:and|to|through|-) 1[0-9](?!\d)",
        r"(?:anyone|people|users|individuals|persons) (?:younger|older) than", r"general audiences?",
        r"(?:intended|designed|directed|meant) (?:\w+ ){0,2}(?:for|to|at) adults", r"adults only",
    ),
    # context topics
    "collection": any_of(
        r"(?:we|us|our (?:app|apps|site|website|services?|servers|systems)|the system|third[- ]part(?:y|ies))"
        r"(?: \w+){0,3} (?:collect|gather|obtain|record|receive|log|save|access)\w*",
        r"(?:is|are|be|been|being|get|gets) (?:\w+ )?(?:collected|gathered|obtained|recorded|logged)",
        r"collect(?:s|ing|ion)", r"(?:collect|obtain|gather)(?: \w+)?(?: or \w+)? (?:your|personal|user|the following|"
        r"information|data|certain|some|any|device|location)", r"information (?:we|that we) collect",
        r"(?:information|data) (?:that |which )?(?:you|users) (?:provide|give|submit|enter)",
        r"(?:you )?provide (?:us )?(?:with )?(?:your|personal|some)", r"log (?:files|data|information)",
        r"automatically (?:receive|record|log)", r"we (?:may )?receive", r"ip address(?:es)?",
        r"device (?:information|identifiers?|ids?|model)", r"(?:types|categories) of (?:personal )?"
        r"(?:information|data)", r"location (?:data|information)", r"permissions?",
    ),
    "security": any_of(
        r"(?:information|data|network|cyber|it|system|account) security", r"security (?:measures|technolog\w+|"
        r"team|incidents?|standards|audits?|risks?|procedures|controls|practices|vulnerabilit\w+|protection)",
        r"secure (?:servers?|sockets?|environment|manner|way|storage|facilit\w+|networks?)", r"securely",
        r"encrypt(?:s|ed|ion)?", r"safeguards", r"(?:completely|absolutely|100%|fully|perfectly) secure",
        r"passwords?", r"security of (?:your|the|personal|user)", r"(?:limit|restrict)\w* access",
        r"protect(?:s|ed|ing|ion)? (?:your|the|personal|user|against|it|this|data|information)",
        r"unauthori[sz]ed (?:access|use|disclosure|reading)", r"breach(?:es)?", r"ssl", r"tls", r"https",
        r"firewalls?", r"technical and organi[sz]ational measures", r"access controls?", r"confidentiality",
        r"passwords?", r"leakage", r"malicious", r"vulnerabilit(?:y|ies)", r"intrusions?",
    ),
    "security_word": r"secur(?:e|ity)|protect(?:s|ing)?|safeguard(?:s|ing)?",
    "collect_word": r"collect(?:s|ed|ing|ion)?|gather(?:s|ed|ing)?",
    "rights": any_of(
        r"rights?", r"data subjects?", r"opt[- ]?(?:out|in)", r"unsubscrib(?:e|ing)", r"withdraw(?:al|n)?",
        r"you (?:can|may|could|have the right to) (?:\w+ ){0,2}(?:request|access|correct|delete|update|review|"
        r"unsubscribe|object|ask|change|edit|exercise|lodge|download|stop|deny|manage|disable|"
        r"cancel|choose|control|revise|confirm|view|clear|refuse|restrict|turn off)",
        r"supervisory authorit(?:y|ies)", r"data portability", r"complaints?", r"verifiable (?:consumer )?request",
        r"do not sell(?: or share)? my", r"(?:deletion|access|correction) requests?", r"corrections?",
        r"limit ad tracking", r"settings", r"account cancell?ation", r"cancel your account",
    ),
    "cookies": any_of(r"cookies?", r"web beacons?", r"pixel(?:s| tags?)?", r"(?:browser|html5) (?:local )?storage",
                    r"tracking technolog(?:y|ies)", r"similar technolog(?:y|ies)", r"clear gifs?",
                    r"do not track", r"web trackers?", r"network trackers?", r"anonymous identifiers?"),
    "transfers": any_of(
        r"(?:outside|beyond) (?:of )?(?:the |your )?(?:eea|european economic area|eu|european union|uk|"
        r"united kingdom|country|jurisdiction|switzerland|people's republic of china|china)",
        r"international (?:data )?transfers?", r"cross-?border", r"across borders", r"other countries",
        r"another country",
        r"countries (?:other than|outside|that)", r"third countr(?:y|ies)", r"standard contractual clauses",
        r"adequacy decisions?", r"privacy shield", r"data privacy framework", r"binding corporate rules",
        r"overseas", r"abroad", r"non-eu", r"non-eea", r"storage (?:area|location)", r"jurisdictions",
        r"(?:transferr?(?:ed|ing)?|stored|processed|located|hosted) (?:to |in |within )(?:\w+ ){0,3}"
        r"(?:united states|u\.s\.|usa|countries|china|india|philippines)",
    ),
    "contact": any_of(
        r"contact (?:us|me|our (?:privacy|data|legal|support)|the (?:privacy|data protection))",
        r"email us", r"e-mail us", r"write to us", r"reach (?:us|our)",
        r"get in touch", r"data protection officer", r"dpo", r"privacy (?:officer|team)",
        r"[\w.+-]+@[\w-]+\.[\w.]+", r"questions (?:about|regarding|or concerns)", r"(?:postal|mailing) address",
        r"let us know", r"attn",
    ),
    "changes": any_of(
        r"(?:changes?|updates?|amendments?|modifications?|revisions?) (?:to|of) (?:this|our|the) "
        r"(?:privacy )?(?:policy|notice|statement)",
        r"(?:change|update|modify|amend|revise)[ds]? (?:this|our|the)(?: terms of this)?(?: privacy)? "
        r"(?:policy|notice|statement)", r"last (?:updated|modified|revised)", r"updated (?:on|date)",
        r"update date", r"effective (?:date|as of)", r"continu(?:e|ed|ing) (?:to )?use", r"revised",
        r"updated privacy policy", r"from time to time", r"latest version", r"material changes?",
        r"(?:major|significant|any) changes", r"policy changes", r"released",
    ),
}

# Phrases that contain a topic word but are not about it: matches of the listed families that overlap
# a trap are dropped. Keyed by pattern, valued by the families it silences.
TRAPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # the user giving data to the service; not a trap for "giveto", whose pattern may run across it
    # ("the information you provide when you apply will be shared with the hiring manager")
    (r"(?:you|users?|they)(?:[ ,]+(?!we\b|us\b|be\b|is\b|are\b|been\b|was\b|were\b)\w+){0,5}[ ,]+(?:shar(?:e|ed)|"
     r"disclos(?:e|ed)|post|upload|provide|give|send|submit)(?: (?:it|them|information|data|content))?"
     r"(?: (?:with|to) us)?",
     ("share", "disclose", "flow", "sell", "recipient", "brand", "thirdparty", "handover", "others_receive")),
    (any_of(r"\d+\+? years? of (?:\w+ )?(?:experience|service|expertise|history|operation|practice)",
          r"minor (?:changes?|edits?|updates?|modifications?|revisions?|amendments?|adjustments?|bugs?|"
          r"issues?|errors?|corrections?|details?|incidents?|differences?|role|part|improvements?|fixes?)",
          r"parent (?:company|companies|corporation|entity|organi[sz]ation|group)",
          r"child (?:company|companies|entity|entities|process|processes|element|elements|node|nodes|window|"
          r"windows|theme|themes|threads?|account)", r"children's (?:hospital|museum)",
          r"minor (?:amounts?|injur(?:y|ies)|repairs?|damage|faults?|offen[cs]es?|defects?|variations?|tweaks?|"
          r"delays?|inconvenience)",
          r"kids'? menus?", r"youth (?:sports|league)", r"minor league", r"parental leave",
          r"(?:children's|childrens|kids'?|baby|babies'?|toddlers?'?|teen|junior) (?:clothing|clothes|wear|fashion|"
          r"range|collection|sizes?|menus?|meals?|books?|toys?|shoes|section|department|furniture|products?|"
          r"haircuts?|tickets?|fares?)", r"kids (?:eat|stay|go|fly|travel|ride) free",
          r"(?:kid|child|family)-friendly",
          r"(?:children's|childrens|kids'?|baby) (?:car seats?|prams?|strollers?|pushchairs?|cots?|nappies|diapers|"
          r"bikes?|bicycles?)"), ("minors",)),
    (r"(?:national|public|social|job|financial) security", ("security", "security_word")),
    (any_of(r"retain(?:s|ed|ing)? (?:the services of |outside |independent |external |a |an )*"
          r"(?:lawyers?|attorneys?|counsel|consultants?|advisors?|auditors?|agents?|experts?)",
          r"retain(?:s|ed|ing)? (?:all |any |the |its |our )*(?:rights?|ownership|title|discretion|control)",
          r"(?:user|customer|long-term) retention", r"keep (?:you|them) (?:informed|updated|posted|safe)",
          r"keep in mind", r"keep(?:ing)? (?:track|up|improving)",
          r"keep(?:s|ing)? (?:\w+ ){0,3}(?:private|confidential|secure|safe|accurate|up to date|current)",
          r"keep (?:your|the) (?:password|account)", r"held (?:liable|responsible)",
          r"hold (?:harmless|liable|the power)", r"(?:as|so) long as (?:you|they|he|she) (?:remain|stay)"),
     ("keep", "store", "keep_noun")),
    # the service itself made accessible, not the user's data
    (any_of(r"(?:websites?|site|apps?|services?|content|pages?|materials?) (?:\w+ ){0,2}(?:accessible|available) to",
            r"(?:gift cards?|vouchers?|points|tickets?|products?|items?|goods|accounts?) (?:\w+ ){0,3}"
            r"(?:sold|transferred|resold)"), ("public",)),
    # a product feature named after retention, not how long the service keeps personal data
    (r"(?:data )?retention (?:dashboard|feature|module|add-?on|tool|console|wizard)s?", ("keep", "keep_noun",
                                                                                       "retention_strong")),
    (any_of(r"(?:app|play|online|retail|physical) stores?", r"in stores?", r"store (?:hours|locations?|credit)",
          r"(?:security|confidentiality|accuracy) and (?:integrity|accuracy)",
          r"storage (?:device|media|space|capacity)",
          r"storage (?:area|location|region|regions|locations|vendors?|providers?|services?)",
          r"maintain(?:s|ed|ing)? (?:a |an |appropriate |reasonable )?(?:security|safeguards|measures|"
          r"accuracy|the (?:security|confidentiality)|a healthy)", r"hold (?:regular|training)"),
     ("store", "storage_heading", "keep_noun")),
    (any_of(r"(?:deletion|erasure) requests?", r"request(?:s|ed|ing)? (?:to |that )?(?:we |us to )?(?:the )?"
          r"(?:deletion|erasure|delet|eras)\w*", r"right to (?:deletion|erasure|delete|erase)",
          r"ask us to (?:delete|erase)", r"you can (?:\w+ )?delete", r"delete the app"), ("delete",)),
    (any_of(r"shar(?:e|es|ed|ing) (?:your |their |his |her |our |the )?(?:feedback|thoughts|opinions?|"
          r"experiences?|ideas|views|stories|playlists?|articles?|videos?|links?|screens?|posts?|photos?)",
          r"shar(?:e|es|ed|ing) (?:\w+ ){0,3}with (?:your |their )?(?:friends|family|followers|contacts|connections)",
          r"share (?:button|icon|link|feature|widget|sheet|menu|function)s?",
          r"share (?:this|the) (?:page|post|article|story|link|video|content)",
          r"(?:market|fair|revenue) share", r"shareholders?", r"shares? (?:of|in) (?:stock|the company)",
          r"trade ?marks?", r"trade (?:secrets?|shows?|names?)",
          r"sales? of (?:products|goods|tickets|merchandise|services|alcohol)",
          r"provid(?:e|es|ed|ing) (?:(?:our|its|the|these|such|their) )?(?:\w+ )?(?:services?|products?|"
          r"solutions?|platform|"
          r"software|apps?|tools?) to",
          r"(?:shared|disclosed|provided|given|sent) (?:\w+ ){0,2}(?:with|to) us",
          r"(?:shared|disclosed|provided|given|sent|submitted|gave|give|gives|giving|send|sends|submit|pass|passes|"
          r"passed) us\b",
          r"(?:collect|obtain|receive)\w* (?:\w+ ){0,3}from third parties"
          r"(?:,? (?:such as|including) (?:[\w-]+ ){0,6})?",
          r"(?:collection|use)(?:,| and| or)+ (?:use(?:,| and| or)+ )?disclosure of (?:your )?personal "
          r"(?:information|data)",
          r"(?:signed|tenancy|rental|car|vehicle) leases?", r"lease agreements?", r"(?:the|your|a) lease\b",
          r"(?:you|consumers?|residents?|individuals?|users?)(?: \w+){0,4} (?:request|ask|know)\w* (?:\w+ ){0,3}"
          r"(?:that )?(?:we|us to) disclose", r"disclos\w* (?:\w+ ){0,6}to you\b(?! (?:and|or)\b)",
          r"affiliate (?:programs?|programmes?|links?|agreements?|marketing|commissions?|partners? programs?)",
          r"(?:we|our (?:\w+ )?servers?|our systems?) (?:\w+ )?log(?:s|ged)?\b",
          r"(?:file|make|submit|lodge) a (?:police )?(?:report|complaint) with",
          r"requests? (?:for )?(?:the )?disclosure", r"parental authority",
          r"consent (?:[\w,]+ ){0,12}(?:is|was|be|being|has been) given",
          r"(?:right|request) to (?:\w+ ){0,3}(?:learn|know|be informed of|obtain information about) (?:\w+ ){0,2}"
          r"(?:third parties|recipients)",
          r"information on (?:the )?(?:purposes|categories)(?:[\w,]+ ){0,12}recipients",
          r"right to (?:receive|obtain|transmit)\w*", r"right to (?:data )?portability",
          r"(?:by|for) processor\b", r"processor (?:will|shall|must|ensures?|remains?|agrees?|may instead)",
          r"as an? (?:data )?processor,? we", r"giv(?:e|es|ing) you\b",
          r"(?:may|might|could) reveal (?:information|something|details) about (?:your|you)",
          r"(?:and|or) from (?:\w+ ){0,2}third[- ]part(?:y|ies)", r"categories of sources",
          r"(?:disclose|describe|set out|explain)d? in this (?:notice|policy|statement)",
          r"non-?disclosure agreements?",
          r"transferred (?:\w+ ){0,2}over (?:a |an )?(?:secure|encrypted)", r"encrypted in transit",
          r"(?:products?|items?|goods|merchandise|tickets?) (?:\w+ ){0,2}sold by",
          r"(?:your |the )?(?:internet|mobile|wireless|broadband) (?:service )?(?:providers?|carriers?|operators?)"
          r"(?= (?:and|or)\b|[,.;)])",
          r"(?:do not|don't|never|not to) (?:disclose|share|give|reveal|tell) (?:your |any )?(?:passwords?|pins?|"
          r"credentials|login details|one-time codes?|security codes?|verification codes?|account details)",
          r"(?:publicly |legally )+disclosed information",
          r"(?:receiv|obtain|collect|get|gather)\w* (?:[\w,]+ ){0,10}from (?:\w+ ){0,3}"
          r"(?:partners?|affiliates?|third[- ]part(?:y|ies)|advertisers|providers?|sources|companies|"
          r"agenc(?:y|ies)|bureaus?|brokers?|registers|registries|databases|networks?|platforms?|employers?|others)",
          r"(?:information|data) (?:\w+ ){0,2}from (?:\w+ ){0,3}(?:partners?|affiliates?|third[- ]part(?:y|ies))",
          r"provided by (?:\w+ ){0,3}(?:partners?|third[- ]part(?:y|ies)|providers?)",
          r"third[- ]party accounts?", r"information providers?",
          r"(?:complain|complaints?|concerns?|appeal|escalate)\w* (?:\w+ ){0,4}(?:to|with) (?:the |a |your |our |an )?"
          r"(?:\w+ ){0,2}(?:supervisory|data protection|regulat|authorit|commissioner|ombudsman)\w*",
          # notifying a regulator of a security incident is security, not a disclosure of user data
          r"(?:incidents?|breach(?:es)?)(?:[ ,]+\w+){0,14}?[ ,]+(?:report|notify|inform)\w*(?: \w+){0,3} to (?:the )?"
          r"(?:\w+ ){0,2}(?:authorit|regulat)\w*",
          r"(?:report|notify|inform)\w* (?:\w+ ){0,8}(?:incidents?|breach(?:es)?) (?:\w+ ){0,3}to (?:the )?"
          r"(?:\w+ ){0,2}(?:authorit|regulat)\w*",
          r"government[- ]issued", r"(?:name|names|details|address|title) of (?:your|the|their) (?:\w+ )?"
          r"(?:employer|bank|school|company|insurer|doctor)",
          r"(?:newsletters?|magazines?|polic(?:y|ies)|notices?|articles?|blogs?|books?|editions?|issues?|papers?|"
          r"results|winners?) (?:is |are |was |were |will be |gets |get )?published",
          r"third[- ]party (?:trade ?marks?|brands?|logos?|names|marks|intellectual property|products)",
          r"(?:unauthori[sz]ed|accidental|illegal|improper) (?:\w+,? ){0,4}(?:disclosure|access|use)",
          r"(?:to|with) another (?:controller|entity|company|organi[sz]ation|service)",
          r"(?:other|another) (?:\w+ )?users", r"customer service", r"(?:our|the) advertising services"),
     ("share", "disclose", "flow", "sell", "recipient", "brand", "thirdparty", "giveto", "handover",
      "others_receive")),
)
