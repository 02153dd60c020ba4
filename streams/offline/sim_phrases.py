"""Post wording for ``tradewatch simulate``: many templates per kind of account.

Written the way platforms, newsrooms and traders actually write — Chinese first, some
English and mixed text, emoji, numbers, and (for disguised traders) the obfuscations they
use to slip past keyword filters. The wording is deliberately varied so that an evaluation
on this traffic measures the detector, not how well it memorised one sentence.
"""

from __future__ import annotations

import random
import string

EMOJI = ["🔥", "🚀", "💰", "🎉", "✨", "📈", "💎", "🐯", "⚡", "❤️", "👉", "🧧", "🎁", "‼️", "🈵", ""]
SERIES_HEADS = [
    "山海经", "敦煌", "赛博", "十二生肖", "国潮", "星河", "青铜纪", "锦鲤", "麒麟", "故宫印象",
    "三星堆", "唐宫夜宴", "元气少女", "机甲纪元", "熊猫", "仙鹤", "福虎", "虎年生肖", "千里江山",
    "西游", "水墨", "鎏金", "朋克猫", "太空犬", "深海", "昆仑", "九色鹿", "霓虹都市",
]
SERIES_TAILS = [
    "·青龙", "·飞天", "·朱雀", "系列", "·典藏版", "·创世", "·限定款", "·白虎", "·玄武", "·金卡",
    "·隐藏款", "·Genesis", "·初代", "·传说", "·纪念版", "",
]
SERIES_EN = [
    "Cyber Dragon", "Genesis Tiger", "Lotus Spirit", "Neon Panda", "Jade Phoenix", "Moon Rabbit",
    "Meta Koi", "Golden Qilin", "Pixel Monk", "Space Shiba", "Ink Crane", "Bronze Mask",
]
PLATFORM_HEADS = ["幻", "元", "星", "云", "链", "灵", "鲸", "数", "宙", "玄", "唐", "麦", "火", "蓝", "极", "千"]
PLATFORM_MIDS = ["境", "宇", "藏", "艺", "界", "核", "盒", "域", "画", "镜", "川", "象"]
PLATFORM_TAILS = ["数藏", "数字藏品", "NFT", "元宇宙", "艺术", "文创", "数字艺术", "藏馆"]
PLATFORM_EN = ["MetaVault", "ChainArt", "StarBox", "CloudMint", "NovaNFT", "LingJing", "DragonMeta", "Yuanverse"]
CHAINS = ["长安链", "至信链", "蚂蚁链", "BSN文昌链", "智臻链", "区块链联盟链"]
ARTISTS = ["青年艺术家林默", "插画师阿槿", "非遗传承人王师傅", "设计师K.Z", "国风画师墨白", "数字艺术家Mika"]
MEDIA = ["新华财经", "每日经济观察", "证券时报网", "第一财经", "21世纪经济报道", "财联社", "科技日报", "法治晚报"]
REGULATORS = ["中国互联网金融协会", "某市网信办", "某省地方金融监督管理局", "中国银行业协会", "中国证券业协会"]
COURTS = ["某区人民法院", "某市中级人民法院", "某县人民检察院", "某市公安局经侦支队"]
STOCKS = ["某科技", "某传媒", "某文化", "某数码", "某信息"]
CAMERAS = ["富士X100V", "索尼A7M3", "佳能5D4", "尼康Z6", "理光GR3", "徕卡Q2"]
GOODS = ["iPad Air", "Switch游戏机", "山地自行车", "婴儿推车", "空气净化器", "机械键盘", "乐高积木", "实木书桌"]
CONCERTS = ["周X伦嘉年华", "五X天巡演", "林X杰演唱会", "音乐节双日票"]
GAMES = ["王者荣耀", "和平精英", "原神", "英雄联盟", "CSGO"]

HANDLE_FORMS = [
    "加V：{wxid}", "vx: {wxid}", "薇❤ {wxid}", "Q群 {digits}", "扣群：{digits}", "企鹅 {digits}",
    "➕V {wxid}", "威信 {wxid}", "wx同号 {digits}", "V❤：{wxid}", "微 信 号 {wxid}", "QQ群{digits}",
    "+v {wxid}", "🐧 {digits}", "卫星：{wxid}",
]


def _pick(rng: random.Random, options: list[str]) -> str:
    return options[rng.randrange(len(options))]


def series_name(rng: random.Random) -> str:
    """A plausible collectible series name (Chinese, sometimes English)."""
    if rng.random() < 0.15:
        return _pick(rng, SERIES_EN)
    return _pick(rng, SERIES_HEADS) + _pick(rng, SERIES_TAILS)


def platform_name(rng: random.Random) -> str:
    if rng.random() < 0.12:
        return _pick(rng, PLATFORM_EN)
    return _pick(rng, PLATFORM_HEADS) + _pick(rng, PLATFORM_MIDS) + _pick(rng, PLATFORM_TAILS)


def wallet_address(rng: random.Random) -> str:
    return "0x" + "".join(rng.choice("0123456789abcdef") for _ in range(40))


def contact_handle(rng: random.Random) -> str:
    """A disguised off-platform contact, as traders write them to dodge filters."""
    wxid = rng.choice(string.ascii_lowercase) + "".join(
        rng.choice(string.ascii_lowercase + string.digits + "_") for _ in range(rng.randint(5, 10))
    )
    digits = str(rng.randint(10_000_000, 9_999_999_999))
    return _pick(rng, HANDLE_FORMS).format(wxid=wxid, digits=digits)


_SPLITTERS = [" ", "·", "-", "/", "\u200b", "_", "｜", "*"]


def disguise(rng: random.Random, text: str, words: tuple[str, ...]) -> str:
    """Break filter words the way evaders do: spaces, dots or zero-width marks inside words."""
    for word in words:
        if word in text and len(word) >= 2 and rng.random() < 0.6:
            sep = _pick(rng, _SPLITTERS)
            text = text.replace(word, sep.join(word))
    return text


def _fill(rng: random.Random, ctx: dict) -> dict:
    """Values every template may use; cheap enough to draw them all each time."""
    issue = ctx.get("issue_yuan") or rng.choice([9.9, 19.9, 29.9, 39.9, 59.9, 99, 128, 199])
    mult = rng.choice([5, 8, 12, 20, 35, 50, 88, 120, 180, 270, rng.randint(6, 260)])
    return {
        "platform": ctx.get("platform", "本平台"),
        "platform_en": ctx.get("platform_en", "our platform"),
        "series": series_name(rng),
        "series2": series_name(rng),
        "series_en": _pick(rng, SERIES_EN),
        "issue": issue,
        "mult": mult,
        "floor": round(issue * mult * rng.uniform(0.9, 1.1)),
        "supply": rng.choice([500, 1000, 2000, 3000, 5000, 8888, 10000]),
        "hh": rng.randint(9, 21),
        "mm": rng.choice(["00", "30", "20"]),
        "day": rng.randint(1, 30),
        "month": rng.choice([3, 4]),
        "fee": rng.choice([2.5, 3, 5, 6, 8]),
        "hold": rng.choice([24, 48, 72, 7, 15]),
        "count": rng.randint(200, 9000),
        "pct": rng.choice([80, 90, 100, 110, 120, 150]),
        "small_pct": round(rng.uniform(0.3, 3.8), 2),
        "amount": rng.randint(5, 500) * 1000,
        "refund_pct": rng.randint(5, 30),
        "bond_pct": rng.randint(5, 60),
        "ipo_pct": rng.randint(30, 400),
        "bn": rng.randint(3, 180),
        "fund_pct": rng.randint(60, 92),
        "wan": rng.randint(30, 9000),
        "n": rng.randint(2, 9),
        "k": rng.randint(1, 5),
        "serial": f"{rng.randint(1, 9999):04d}",
        "emoji": _pick(rng, EMOJI),
        "emoji2": _pick(rng, EMOJI),
        "handle": contact_handle(rng),
        "wallet": wallet_address(rng),
        "usdt": rng.randint(5, 3000),
        "eth": round(rng.uniform(0.01, 2.5), 3),
        "btc": round(rng.uniform(0.0005, 0.05), 4),
        "chain": _pick(rng, CHAINS),
        "artist": _pick(rng, ARTISTS),
        "media": _pick(rng, MEDIA),
        "regulator": _pick(rng, REGULATORS),
        "court": _pick(rng, COURTS),
        "stock": _pick(rng, STOCKS),
        "camera": _pick(rng, CAMERAS),
        "goods": _pick(rng, GOODS),
        "concert": _pick(rng, CONCERTS),
        "game": _pick(rng, GAMES),
        "yuan": rng.randint(80, 9000),
        "bp": rng.randint(2, 15),
        "user": "藏友" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(2)) + "**",
        "filing": f"京网信备{rng.randint(11000000000000, 11999999999999)}号",
        "licence_no": f"京B2-2{rng.randint(10000000, 99999999)}",
    }


# ---- templates, by the kind of post ------------------------------------------------------

OPEN_MARKET = [
    "【寄售市场开放公告】{platform}二级市场将于{month}月{day}日{hh}:{mm}正式开放，{series}等藏品均支持寄售，手续费仅{fee}%！{emoji}",
    "{series} 地板价已达 {floor} 元，较首发价 {issue} 元翻了 {mult} 倍{emoji} 还没上车的藏友抓紧",
    "Secondary market is LIVE on {platform_en}! List your {series_en} now — floor {floor} CNY ({mult}x mint) {emoji}",
    "今日行情速递📈 {series} 地板 {floor}，{series2} 溢价 {mult} 倍，一日牛熊，快进快出",
    "{platform}藏品转售功能上线啦，持有满{hold}小时即可挂售，支持多级流转{emoji2}",
    "恭喜{user}靠 {series} 日入过万！寄售区今日成交 {count} 笔，总成交额突破 {wan} 万",
    "C2C交易区已开放：藏品可自由挂售、转售，价格由藏友自行决定 {emoji}",
    "{series} 持续挂牌中，集中交易时段 {hh}:00-22:00，做市商提供流动性，欢迎入场",
    "{series} floor price 暴涨🚀 {mult}x！二级市场 hot 🔥 别错过",
    "交易市场开放第{n}天，{series} 成交均价 {floor} 元，较发行价溢价 {mult} 倍，炒作热度持续",
    "藏友们，{series} 今天又涨了！早上抄底的已经翻倍了{emoji}{emoji2} 市场挂单请走官方寄售",
    "【市场公告】为提升流动性，{platform}二级市场手续费下调至{fee}%，{series2} 开放寄售",
    "新手教程：如何在{platform}寄售市场挂售你的藏品？三步完成：选择藏品→设置价格→确认挂售",
    "Floor watch: {series_en} {floor} CNY, up {mult}x since mint. Trade on our market {emoji}",
]
CONSIGNMENT = [
    "寄售秒出！{series} 挂单 {floor} 元 10 分钟内成交，转手就赚 {emoji}",
    "C2C 藏品市场今日成交 {count} 单，{series} 一天换手 {n} 次，捡漏的抓紧",
    "【寄售区】{series} #{serial} 挂售中，低于地板价，先到先得",
    "Flip it fast: {series_en} bought at {issue}, sold at {floor} within the hour {emoji}",
    "今日最强转卖：{user} 早上 {issue} 元买入 {series}，下午 {floor} 元转卖{emoji2}",
    "{platform}寄售市场新规：挂售无需等待，买入即可转售，支持秒挂秒卖",
    "寄售专区上新：{series}、{series2}，藏友之间直接挂售，平台只收 {fee}% 服务费",
    "C2C trading is open 24/7 — list, flip, repeat. {series_en} floor {floor} CNY",
    "{series} 接盘的人越来越多，地板价 {floor}，看好的藏友可以挂单 {emoji}",
]
DISGUISED = [
    "出 {series} #{serial}，诚心要的私 {handle}",
    "收 {series} 多张，价格好说，{handle}",
    "新到一批 {series}，懂的来 {handle} {emoji}",
    "藏友交流群 {handle} 群内互赠，先款后赠，安全放心",
    "走平台转赠，先赠后款、先款后赠都可以，担保交易 {handle}",
    "代抢 {series} 首发，成功率高，外挂辅助，{handle}",
    "DM for {series_en} #{serial} — add V {handle}",
    "有意向 {series} 的老板看这里👉 {handle}",
    "长期收/出 {series2}，量大从优，{handle}",
    "{series} 隐藏款 私 聊，{handle}，不议价",
    "今晚八点群里拍 {series}，起拍 {floor}，{handle}",
    "懂的都懂 {emoji} {series} 在手，{handle}",
    "老板们 {series} 还有 {n} 张，转 赠 秒到，{handle}",
]
DISGUISE_WORDS = ("转赠", "交易", "私聊", "担保", "出售", "收购", "代抢", "外挂", "寄售", "二级", "私下")
CRYPTO = [
    "{series} 现已支持 USDT 结算，收款地址 {wallet}",
    "Pay with ETH or USDT: {wallet} — {series_en} floor {eth} ETH {emoji}",
    "泰达币/比特币均可，{series} 挂售中，钱包 {wallet}",
    "链上直购：转 {usdt} USDT 到 {wallet} 即可获得 {series} 一份",
    "{platform_en} now settles in crypto 💎 BTC {btc} / ETH {eth} per {series_en}",
    "以太坊用户福利：{series} 用 ETH 支付享 9 折，地址 {wallet}",
    "告别人民币结算，{platform}全面接入 USDT，挂单、成交实时到账 {emoji}",
    "{series} 二级市场 USDT 报价：{usdt} USDT，收款 {wallet}",
]
FRAUD_PROMISE = [
    "{series} 首发！平台承诺保本回购，30天内按首发价 {pct}% 回购兜底，稳赚不赔💰",
    "奖池已累计 {amount} 元！每周定期回购，持有即享分红 {emoji}",
    "半价保本，稳定升值，{series} 错过再等一年 {emoji2}",
    "Guaranteed buy-back at {pct}% of mint price! Zero risk, only upside {emoji}",
    "【官方回购计划】{series} 每月定期回购，价格只涨不跌，放心持有",
    "保价回购+奖池分红，{platform}让每一位藏友都赚钱 🧧",
    "邀请好友购买 {series} 返现 {n}%，平台回购兜底，稳赚不赔",
    "{series} 已被平台回购 {count} 份，回购价 {floor} 元，下一期回购即将开始",
]
FRAUD_EXCUSE = [
    "关于近期提现延迟的说明：因系统升级，提现通道暂时关闭，预计{n}个工作日恢复",
    "提现规则调整：单笔满 {amount} 元方可提现，每周仅限提现一次",
    "网传我平台跑路纯属谣言，请广大藏友不要恐慌，回购计划照常进行",
    "近期部分用户反映无法提现、提现不到账，平台正在加急处理，请耐心等待",
    "清退公告：{platform}将于{month}月{day}日停止运营，按首发价 {refund_pct}% 清退",
    "致广大藏友：对于近期“无法提现”“平台跑路”等投诉，我们深表歉意，提现通道将分批开放",
    "Withdrawals are temporarily paused for a security upgrade. Your assets are safe 🙏",
    "因银行通道风控，提现需缴纳 {n}% 手续费方可到账",
]
PRIMARY = [
    "【首发预告】{series} 限量 {supply} 份，{month}月{day}日 {hh}:{mm} 开售，首发价 {issue} 元 🎉",
    "{series} 盲盒开启预约，预约用户有机会获得空投 {emoji}",
    "合成活动：集齐 {n} 款 {series} 可合成隐藏款 ✨",
    "Limited drop: {series_en}, {supply} editions at {issue} CNY each. Set a reminder!",
    "空投名单已公布，请在「我的藏品」中查看 {emoji}",
    "本期藏品由{artist}创作，上链存证，{chain}提供技术支持",
    "{series} 已售罄，感谢藏友支持！下一期首发敬请期待 {emoji2}",
    "限量发售｜{series}，每人限购 {k} 份，数字藏品仅供收藏欣赏",
    "新品预约开启：{series}，{supply} 份，预约即送 {series2} 空投一份",
    "Airdrop alert 🎁 holders of {series_en} receive a free {series_en} badge this week",
    "【活动】{series} 持有用户可参与合成，合成后获得典藏版 {emoji}",
    "{platform}第{n}期首发：{series}，铸造上链，每份含唯一编号",
]
LICENSED_EXTRA = [
    "{platform}已取得网络文化经营许可证、增值电信业务经营许可证（{licence_no}），区块链信息服务备案号：{filing}",
    "依法合规经营：本平台藏品均在{chain}上链，已完成区块链信息服务备案",
]
STOP_TRADING = [
    "重要通知：应相关要求，{platform}即日起关闭寄售市场，不再支持藏品转售，已挂单藏品将自动下架",
    "【公告】寄售功能已下线，平台后续仅提供首发与空投服务，感谢理解",
    "Notice: our resale market is closed from today. Primary drops continue as usual.",
]
COMPLIANCE = [
    "郑重声明：本平台不开放二级市场，不支持转售，严禁私下交易，一经发现将冻结账户",
    "We do not support resale or secondary trading of digital collectibles. Off-platform trading is prohibited.",
    "提醒：{platform}藏品仅供收藏欣赏，禁止炒作，谨防场外交易诈骗 {emoji}",
    "近期有不法分子冒充本平台以“保本回购”名义诱导交易，请勿相信。本平台从未开放寄售、C2C等功能",
    "本平台数字藏品不具备投资属性，不支持任何形式的转售、挂售或二级市场交易",
    "风险提示：任何要求你加V、进Q群进行“担保交易”的均为诈骗，{platform}不提供交易服务",
    "No secondary market, no consignment, no crypto payments. {platform_en} only offers primary sales.",
    "【自律公约】坚决抵制数字藏品炒作，不开放二级市场，不以虚拟货币计价结算",
]
LEADER = [
    "转赠规则更新：藏品持有满{hold}天后可免费转赠好友，受赠人需持有满{n}天方可再次转赠，每日最多转赠{k}次",
    "严禁任何形式的私下交易、代抢、外挂，违规账号将被封禁，已处理违规账号 {count} 个",
    "转赠功能说明：转赠完全免费，平台不提供任何买卖服务，请勿相信场外交易",
    "{platform}提示：数字藏品不可转售，仅支持持有期满后的无偿转赠",
    "Gifting is free and available after the holding period. Selling is not supported.",
]
NEWS = [
    "据{media}报道，3月下旬，微信平台封禁了十余家数字藏品平台公众号，部分平台因涉嫌二级市场交易、无资质经营被处理，另有平台涉嫌诈骗",
    "【风险提示】{regulator}提醒：警惕以“保本回购”“稳赚不赔”为噱头的数字藏品骗局，谨防平台跑路、无法提现",
    "三家协会发布倡议：坚决遏制NFT金融化证券化倾向，不提供集中交易、持续挂牌、做市商等服务，不以比特币、以太币、USDT等虚拟货币计价结算",
    "{court}审理一起数字藏品诈骗案：被告人搭建平台，以回购兜底为名吸引用户，通过水军、自持账号炒作，溢价高达{mult}倍后关闭提现，涉案金额{wan}万元",
    "A major Chinese messaging app suspended more than ten NFT platform accounts in late March 2022 for unlicensed secondary trading, {media} reports",
    "记者调查：数字藏品二级市场炒作乱象，部分藏品溢价上百倍，地板价一日牛熊，“接盘侠”损失惨重",
    "监管动态：多地网信部门开展专项整治，打击数字藏品私下交易、场外交易与代抢外挂",
    "清退潮来袭：据不完全统计，已有数十家数字藏品平台宣布清退，退款比例仅为首发价的5%-30%",
    "据{media}消息，微信发布公告，公众号、小程序不得提供数字藏品二级交易服务，违规者将被限制功能直至永久封禁",
    "专家解读：为什么数字藏品不能开放二级市场？寄售、转卖、C2C背后的金融风险",
    "Regulators warn investors about NFT platforms promising guaranteed buy-back; several sites froze withdrawals, {media} says",
    "{court}通报：某数字藏品平台以“奖池”“定期回购”为诱饵，收取用户资金后跑路，{n}名嫌疑人被刑事拘留",
    "观察｜数字藏品平台收到“资质审核提醒”，需在4月1日前提供区块链信息服务备案、ICP许可证等资质证明",
]
STOCK = [
    "今日A股二级市场震荡，创业板指跌{small_pct}%，北向资金净流入{bn}亿元",
    "可转债上市首日平均溢价{bond_pct}%，打新收益可观",
    "港股科技股反弹，抄底资金涌入，恒生科技指数涨{small_pct}%",
    "基金定投怎么选？二级市场波动加大时，分批买入可以摊薄成本",
    "债券市场：二级市场国债收益率下行{bp}个基点，资金面宽松",
    "元宇宙、NFT概念股午后拉升，{stock}涨停，注意题材炒作风险",
    "REITs二级市场溢价率回落，部分产品跌破发行价",
    "Hong Kong stocks rebound; A-share secondary market turnover tops 1 trillion yuan",
    "定增项目折价率收窄，二级市场投资者关注解禁压力",
    "北交所新股首日溢价{ipo_pct}%？理性看待打新收益 {emoji}",
    "基金经理：当前位置适合抄底吗？股票型基金仓位回升至{fund_pct}%",
]
SECONDHAND = [
    "出二手相机 {camera}，95新，{yuan}元，可小刀，同城面交",
    "闲置转卖：{goods}，九成新，价格{yuan}元，非诚勿扰",
    "本周末书画拍卖预展：{artist}作品，起拍价{n}万元，欢迎莅临",
    "演唱会门票转让：{concert} 内场{k}张，原价转，不加价",
    "{game} 游戏皮肤账号出售，全英雄，走平台担保交易 {emoji}",
    "二手书回收/转卖，教材、小说均可，{yuan}本起收",
    "闲置好物｜{goods} 转卖，买来没用几次，{yuan}包邮",
    "Selling my used {camera}, like new, {yuan} CNY. Local pickup only",
    "秋季艺术品拍卖会：油画、书法、瓷器共{count}件拍品，{month}月{day}日开拍",
    "二手数码回收：手机、相机、平板，高价回收，当面验机",
]

_TITLES = {
    "open_market": ["市场公告", "行情速递", "寄售市场", "藏友必看", "Market update", ""],
    "consignment": ["寄售区", "今日成交", "C2C", ""],
    "disguised": ["", "", "藏友交流", "出/收"],
    "crypto": ["Crypto payments", "USDT结算", "链上直购", ""],
    "fraud_promise": ["回购计划", "官方承诺", "奖池公告", ""],
    "fraud_excuse": ["提现说明", "重要公告", "致藏友的一封信", ""],
    "primary": ["首发预告", "新品上线", "空投", "合成活动", "Drop", ""],
    "licensed": ["资质公示", "合规经营", ""],
    "stop_trading": ["重要通知", "公告"],
    "compliance": ["郑重声明", "风险提示", "平台规则", "Notice"],
    "leader": ["转赠规则", "平台公告", "违规处理公示"],
    "news": ["快讯", "深度", "风险提示", "监管动态", "News", "观察"],
    "stock": ["早盘", "收评", "基金观察", "债市", "港股通", ""],
    "secondhand": ["闲置", "转让", "拍卖预展", ""],
}
_JOINERS = ["。", "。", "！", " ", "\n"]
_SECOND_SENTENCE = {"news": 0.45, "stock": 0.4, "compliance": 0.35, "disguised": 0.15, "licensed": 0.0}
_PREFIXES = {
    "news": ["【{media}】", "{month}月{day}日，", "#数字藏品# ", "本报讯 ", "Breaking: ", "据悉，"],
    "stock": ["【收评】", "{month}月{day}日 ", "#A股# ", "盘面观察："],
    "compliance": ["【重要提醒】", "Notice｜", "致全体藏友："],
    "primary": ["【{platform}】", "预告｜", "🎉 "],
    "secondhand": ["【转】", "#闲置# ", "同城｜"],
}
TEMPLATES = {
    "open_market": OPEN_MARKET,
    "consignment": CONSIGNMENT,
    "disguised": DISGUISED,
    "crypto": CRYPTO,
    "fraud_promise": FRAUD_PROMISE,
    "fraud_excuse": FRAUD_EXCUSE,
    "primary": PRIMARY,
    "licensed": LICENSED_EXTRA,
    "stop_trading": STOP_TRADING,
    "compliance": COMPLIANCE,
    "leader": LEADER,
    "news": NEWS,
    "stock": STOCK,
    "secondhand": SECONDHAND,
}


def compose_post(rng: random.Random, kind: str, ctx: dict) -> tuple[str, str]:
    """Return ``(title, text)`` for a post of ``kind``; ``ctx`` carries the platform's names."""
    values = _fill(rng, ctx)
    templates = TEMPLATES[kind]
    text = _pick(rng, templates).format_map(values)
    if rng.random() < _SECOND_SENTENCE.get(kind, 0.25):
        second = _pick(rng, templates).format_map(_fill(rng, ctx))
        if second != text:
            text = text + _pick(rng, _JOINERS) + second
    if kind in _PREFIXES and rng.random() < 0.5:
        text = _pick(rng, _PREFIXES[kind]).format_map(values) + text
    if kind == "disguised":
        text = disguise(rng, text, DISGUISE_WORDS)
    elif kind in ("open_market", "consignment") and rng.random() < 0.15:
        text = text + " " + contact_handle(rng)  # market platforms also run "VIP groups"
    if rng.random() < 0.2 and kind not in ("news", "stock"):
        text = text + " " + values["emoji"]
    title = _pick(rng, _TITLES[kind])
    return title, text
