"""Capitalised words and phrases that read like a person's name but are not one.

Brands, firms and places are often named after people (``Morgan Stanley``, ``Washington
Square``): a first name and a surname the dictionary knows. Two lists keep them in clear:

- ``EPONYMS``: well-known brands, firms and places named after people, as written (lower case);
- ``PLACE_HEADS``: nouns that end a place or organisation name (``Square``, ``Falls``,
  ``Airport``, ``Bank``...) and are rarely a surname (``Hall``, ``Hill``, ``Park`` are left out).

Ordinary English words (``Budget``, ``Rapids``) are a bit of the compiled name dictionary.
"""

from __future__ import annotations

EPONYMS = frozenset("""morgan stanley|wells fargo|louis vuitton|tim hortons|mercedes benz|mercedes-benz|victoria secret
|victoria's secret|ford mustang|ford focus|ford fiesta|goldman sachs|merrill lynch|charles schwab|edward jones
|raymond james|dow jones|johnson johnson|procter gamble|ralph lauren|calvin klein|tommy hilfiger|hugo boss
|estee lauder|estée lauder|marc jacobs|michael kors|kate spade|tory burch|vera wang|christian dior|giorgio armani
|coco chanel|jimmy choo|ted baker|paul smith|john lewis|marks spencer|harley davidson|harley-davidson|rolls royce
|rolls-royce|aston martin|alfa romeo|walt disney|warner bros|ben jerry|jack daniels|jack daniel's|johnnie walker
|jim beam|sam adams|betty crocker|dr pepper|dr martens|levi strauss|carl zeiss|hewlett packard|hewlett-packard
|franklin templeton|ernst young|lloyds bank|john deere|thomas cook|kellogg's|wendy's|mcdonald's|taco bell
|bath body|sherwin williams|black decker|johnson controls|philip morris|pierre cardin|yves saint laurent
|saint laurent|tom ford|stella mccartney|jean paul gaultier|oscar de la renta|carolina herrera|roberto cavalli
|salvatore ferragamo|emilio pucci|tom tailor|ben sherman|fred perry|lacoste|chrysler|porsche|ferrari|lamborghini
|john hancock|lincoln center|lincoln memorial|jefferson memorial|kennedy center|madison square|madison avenue
|washington square|columbus circle|elizabeth line|victoria line|jubilee line|victoria falls|victoria station
|victoria harbour|jordan valley|charles river|hudson river|hudson bay|amazon river|lake victoria|mount everest
|mount kenya|mount elgon|george town|georgetown|charlotte amalie|william street|king street|queen street
|prince albert|albert hall|albert dock|hyde park|central park|kings cross|king's cross|st james|saint james
|st george|saint george|st louis|saint louis|st petersburg|saint petersburg|san jose|santa clara|ho chi minh
|grand central|penn station|union square|times square|trafalgar square|piccadilly circus|golden gate
|johns hopkins|stanford university|harvard university|yale university|princeton university|duke university
|brigham young|carnegie mellon|george washington|john wayne|ronald reagan|charles de gaulle|indira gandhi
|jomo kenyatta|oliver tambo|chhatrapati shivaji|martin luther king|thomas jefferson|abraham lincoln
|grace period|mercedes-amg|tim tams|marie curie|nobel prize|pulitzer prize|victoria cross|jordan brand
|air jordan|calvin harris|ray ban|ray-ban|dolce gabbana|dolce & gabbana|tiffany co|louis philippe|peter england
|allen solly|van heusen|tommy bahama|eddie bauer|lands end|land's end|jack wolfskin|helly hansen|stanley cup
|craig list|craigslist|martha stewart living|ruby tuesday|wendy williams show|sara lee|ben franklin""".replace("\n", "").split("|"))

PLACE_HEADS = frozenset("""square circle circus line river valley falls street avenue boulevard road station airport
harbour harbor plaza mall market museum library university college school academy institute hospital
clinic center centre stadium arena theatre theater tower towers building heights springs canyon gardens garden
island islands peninsula mountains mountain mount desert coast lagoon creek rapids delta gulf strait
sea ocean cathedral chapel mosque memorial monument terminal metro subway railway expressway highway
motorway freeway tunnel pier wharf quay dock docks district county province state region territory republic
kingdom city town village borough suburb estate estates corporation corp inc ltd llc plc gmbh group
holdings partners capital ventures bank airlines airways motors foods brands labs systems technologies
foundation trust fund society association council committee ministry agency office authority company
hotel resort inn cafe restaurant bar pub bakery brewery winery pharmacy stores store studios pictures records
cup prize award trophy holiday festival week period secret""".split())

